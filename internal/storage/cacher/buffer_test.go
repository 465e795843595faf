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
