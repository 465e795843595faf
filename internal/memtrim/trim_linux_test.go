package memtrim

import (
	"net"
	"os"
	"os/user"
	"path/filepath"
	"testing"
)

func TestReadOnlyMappings(t *testing.T) {
	smaps := `00400000-018f8000 r--p 00000000 fe:00 10027157                           /usr/bin/skiff
Rss:                3232 kB
Anonymous:             0 kB
VmFlags: rd mr mw me
018f8000-03f5e000 r-xp 014f8000 fe:00 10027157                           /usr/bin/skiff
Anonymous:             0 kB
VmFlags: rd ex mr mw me
06fb5000-06fb6000 r--p 06bb4000 fe:00 10027157                           /usr/bin/skiff
Anonymous:             4 kB
VmFlags: rd mr mw me ac
06fb6000-070da000 rw-p 06bb5000 fe:00 10027157                           /usr/bin/skiff
Anonymous:           236 kB
VmFlags: rd wr mr mw me ac
070da000-07100000 rw-p 00000000 00:00 0
Anonymous:           100 kB
VmFlags: rd wr mr mw me ac
7f0000000000-7f0000001000 r--s 00000000 fe:00 42                         /usr/bin/skiff
Anonymous:             0 kB
VmFlags: rd sh mr mw me
7f0000002000-7f0000003000 r--p 00000000 fe:00 43                         /usr/lib/libc.so.6
Anonymous:             0 kB
VmFlags: rd mr mw me
7f0000004000-7f0000005000 r-xp 00000000 fe:00 44                         /usr/bin/skiff two
Anonymous:             0 kB
VmFlags: rd ex mr mw me
`
	path := filepath.Join(t.TempDir(), "smaps")
	if err := os.WriteFile(path, []byte(smaps), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readOnlyMappings(path, "/usr/bin/skiff")
	if err != nil {
		t.Fatal(err)
	}
	// Not the RELRO page (06fb5000, with a copied page), not rw, not
	// shared, not other files.
	want := [][2]uintptr{{0x400000, 0x18f8000}, {0x18f8000, 0x3f5e000}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %x, want %x", got, want)
	}
}

// Trimming the running test binary must leave it working: its code and
// constants come back on the next touch.
func TestTrimKeepsTheProcessWorking(t *testing.T) {
	if err := Trim(); err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for i := range 1000 {
		m[filepath.Join("a", string(rune('a'+i%26)))] += i
	}
	if len(m) != 26 {
		t.Fatalf("map has %d keys", len(m))
	}
	// Calls that may go through the C library still work. (This binary
	// did not reproduce the crash of unmapping RELRO, which the skiff
	// binary showed; TestReadOnlyMappings is what guards that.)
	if _, err := user.Current(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.LookupHost("localhost"); err != nil {
		t.Fatal(err)
	}
}
