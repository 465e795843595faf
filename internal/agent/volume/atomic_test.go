package volume

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func readVol(t *testing.T, dir, name string) (string, os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), fi.Mode().Perm()
}

func visible(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestWritePayload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	changed, err := WritePayload(dir, map[string]File{
		"a":        {Data: []byte("one"), Mode: 0o644},
		"sub/b":    {Data: []byte("two"), Mode: 0o400},
		"sub/c/dd": {Data: []byte("three"), Mode: 0o600},
	})
	if err != nil || !changed {
		t.Fatalf("first write: changed=%v err=%v", changed, err)
	}
	if got, mode := readVol(t, dir, "a"); got != "one" || mode != 0o644 {
		t.Errorf("a = %q %o", got, mode)
	}
	if got, mode := readVol(t, dir, "sub/b"); got != "two" || mode != 0o400 {
		t.Errorf("sub/b = %q %o", got, mode)
	}
	if got, _ := readVol(t, dir, "sub/c/dd"); got != "three" {
		t.Errorf("sub/c/dd = %q", got)
	}
	if l, err := os.Readlink(filepath.Join(dir, "a")); err != nil || l != "..data/a" {
		t.Errorf("a link = %q, %v", l, err)
	}
	first, _ := os.Readlink(filepath.Join(dir, "..data"))

	// The same payload changes nothing.
	changed, err = WritePayload(dir, map[string]File{
		"a":        {Data: []byte("one"), Mode: 0o644},
		"sub/b":    {Data: []byte("two"), Mode: 0o400},
		"sub/c/dd": {Data: []byte("three"), Mode: 0o600},
	})
	if err != nil || changed {
		t.Fatalf("same write: changed=%v err=%v", changed, err)
	}

	// An update swaps ..data and drops names that left the payload.
	changed, err = WritePayload(dir, map[string]File{
		"a": {Data: []byte("new"), Mode: 0o644},
		"e": {Data: []byte("four"), Mode: 0o644},
	})
	if err != nil || !changed {
		t.Fatalf("update: changed=%v err=%v", changed, err)
	}
	if got, _ := readVol(t, dir, "a"); got != "new" {
		t.Errorf("a after update = %q", got)
	}
	second, _ := os.Readlink(filepath.Join(dir, "..data"))
	if second == first {
		t.Errorf("..data not switched")
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("old payload dir kept: %v", err)
	}
	got := visible(t, dir)
	want := []string{"..data", second, "a", "e"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("entries = %v, want %v", got, want)
	}

	// A mode change alone is a change.
	if changed, err := WritePayload(dir, map[string]File{
		"a": {Data: []byte("new"), Mode: 0o600},
		"e": {Data: []byte("four"), Mode: 0o644},
	}); err != nil || !changed {
		t.Fatalf("mode change: changed=%v err=%v", changed, err)
	}
	if _, mode := readVol(t, dir, "a"); mode != 0o600 {
		t.Errorf("a mode = %o", mode)
	}
}

func TestCheckPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"a", true},
		{"a/b.txt", true},
		{"..a", false},
		{"/abs", false},
		{"a/../../b", false},
		{"a//b", false},
		{"", false},
	} {
		if err := checkPath(tc.path); (err == nil) != tc.ok {
			t.Errorf("checkPath(%q) = %v, want ok=%v", tc.path, err, tc.ok)
		}
	}
}
