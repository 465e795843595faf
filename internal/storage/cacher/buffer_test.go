package cacher

import (
	"fmt"
	"testing"

	"github.com/skiff-dev/skiff/internal/storage"
)

func ev(rev int64, key string) storage.Event {
	return storage.Event{Type: storage.Added, Revision: rev, KV: storage.KV{Key: key, ModRevision: rev}}
}

func revs(evs []storage.Event) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprint(e.Revision, " ")
	}
	return s
}

func TestEventBuffer(t *testing.T) {
	b := newEventBuffer(3)
	for r := int64(1); r <= 2; r++ {
		if _, ev := b.push(ev(r, "/a")); ev {
			t.Fatal("evicted before full")
		}
	}
	b.push(ev(3, "/b"))
	if old, evicted := b.push(ev(4, "/a")); !evicted || old != 1 {
		t.Fatalf("evicted %v %d, want 1", evicted, old)
	}
	tests := []struct {
		rev    int64
		prefix string
		want   string
	}{
		{0, "/", "2 3 4 "},
		{2, "/", "3 4 "},
		{4, "/", ""},
		{0, "/a", "2 4 "},
		{3, "/b", ""},
	}
	for _, tc := range tests {
		if got := revs(b.since(nil, tc.rev, tc.prefix)); got != tc.want {
			t.Errorf("since(%d, %q) = %q, want %q", tc.rev, tc.prefix, got, tc.want)
		}
	}
	b.dropThrough(3)
	if got := revs(b.since(nil, 0, "/")); got != "4 " {
		t.Errorf("after dropThrough(3): %q", got)
	}
	b.push(ev(5, "/a"))
	b.push(ev(6, "/a"))
	b.push(ev(7, "/a"))
	if got := revs(b.since(nil, 0, "/")); got != "5 6 7 " {
		t.Errorf("after wrap: %q", got)
	}
	b.reset()
	if got := revs(b.since(nil, 0, "/")); got != "" {
		t.Errorf("after reset: %q", got)
	}
}

// The ring grows as events come, keeps their order across growth from a
// wrapped state, and evicts only at its capacity.
func TestEventBufferGrows(t *testing.T) {
	b := newEventBuffer(40)
	if len(b.events) != 0 {
		t.Fatalf("a new buffer holds %d slots", len(b.events))
	}
	rev := int64(0)
	push := func(n int) {
		for range n {
			rev++
			if _, evicted := b.push(ev(rev, "/k")); evicted && rev <= 40 {
				t.Fatalf("event %d evicted an event before the buffer held 40", rev)
			}
		}
	}
	push(16)
	b.dropThrough(6) // the oldest is now at index 6
	push(6)          // wraps around the 16 slots
	push(1)          // grows from the wrapped state
	want := ""
	for r := 7; r <= 23; r++ {
		want += fmt.Sprint(r, " ")
	}
	if got := revs(b.since(nil, 0, "/")); got != want {
		t.Fatalf("after growth: %q, want %q", got, want)
	}
	push(100)
	if len(b.events) != 40 || b.n != 40 {
		t.Fatalf("slots %d, held %d; want 40 and 40", len(b.events), b.n)
	}
	if got := revs(b.since(nil, rev-3, "/")); got != fmt.Sprint(rev-2, " ", rev-1, " ", rev, " ") {
		t.Fatalf("newest: %q", got)
	}
	b.reset()
	push(1)
	if got := revs(b.since(nil, 0, "/")); got != fmt.Sprint(rev, " ") {
		t.Fatalf("after reset: %q", got)
	}
}
