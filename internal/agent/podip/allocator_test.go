package podip

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

func TestAllocate(t *testing.T) {
	dir := t.TempDir()
	a, err := New(netip.MustParsePrefix("127.65.0.0/29"), dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{}
	for i := range 5 { // .2 to .6: not .0, .1 or .7
		ip, err := a.Allocate(fmt.Sprint("pod", i))
		if err != nil {
			t.Fatalf("allocate %d: %v", i, err)
		}
		if seen[ip] || ip == netip.MustParseAddr("127.65.0.1") || ip == netip.MustParseAddr("127.65.0.7") {
			t.Fatalf("bad address %s (seen %v)", ip, seen)
		}
		seen[ip] = true
	}
	if _, err := a.Allocate("pod9"); !errors.Is(err, ErrFull) {
		t.Fatalf("want ErrFull, got %v", err)
	}
	again, _ := a.Allocate("pod2")
	if !seen[again] {
		t.Fatalf("owner got a second address %s", again)
	}
	if err := a.Release("pod2"); err != nil {
		t.Fatal(err)
	}
	// A new allocator over the same directory (an agent restart) sees
	// the allocations.
	b, err := New(netip.MustParsePrefix("127.65.0.0/29"), dir)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := b.Allocate("pod7")
	if err != nil || ip != again {
		t.Fatalf("after restart got %s, %v; want the freed %s", ip, err, again)
	}
	if got, ok := b.Lookup("pod0"); !ok || !seen[got] {
		t.Fatalf("lookup pod0 = %s, %v", got, ok)
	}
}

func TestDefaultPrefix(t *testing.T) {
	for _, key := range []string{"", "a", "node-1\x00/var/lib/skiff", "x"} {
		p := DefaultPrefix(key)
		if p.Bits() != 24 || !netip.MustParsePrefix("127.64.0.0/10").Contains(p.Addr()) || p.Addr().As4()[3] != 0 {
			t.Errorf("DefaultPrefix(%q) = %s", key, p)
		}
	}
}
