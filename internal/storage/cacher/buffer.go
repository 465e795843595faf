package cacher

import (
	"sort"

	"github.com/skiff-dev/skiff/internal/storage"
)

// eventBuffer is a bounded ring of the newest events, oldest first. It
// grows up to its capacity as events come, so that the buffers of the
// many kinds that rarely change cost next to nothing.
// It is not safe for concurrent use; the cache's mutex guards it.
type eventBuffer struct {
	events   []storage.Event // the ring; grows up to capacity
	capacity int
	start    int // index of the oldest event
	n        int // number of events held
}

// firstBufferSize is the ring's size before its first growth.
const firstBufferSize = 16

func newEventBuffer(capacity int) *eventBuffer {
	return &eventBuffer{capacity: max(capacity, 1)}
}

// grow doubles the ring (up to capacity), oldest event first.
func (b *eventBuffer) grow() {
	size := min(max(2*len(b.events), firstBufferSize), b.capacity)
	events := make([]storage.Event, size)
	for i := 0; i < b.n; i++ {
		events[i] = *b.at(i)
	}
	b.events, b.start = events, 0
}

// at returns the i-th oldest event.
func (b *eventBuffer) at(i int) *storage.Event {
	return &b.events[(b.start+i)%len(b.events)]
}

// push appends ev, evicting the oldest event when full; evicted reports
// whether one was and its revision.
func (b *eventBuffer) push(ev storage.Event) (evictedRev int64, evicted bool) {
	if b.n == len(b.events) && len(b.events) < b.capacity {
		b.grow()
	}
	if b.n == len(b.events) {
		old := b.at(0)
		evictedRev, evicted = old.Revision, true
		*old = storage.Event{} // drop references to values and objects
		b.start = (b.start + 1) % len(b.events)
		b.n--
	}
	*b.at(b.n) = ev
	b.n++
	return evictedRev, evicted
}

// dropThrough removes events with Revision <= rev.
func (b *eventBuffer) dropThrough(rev int64) {
	for b.n > 0 && b.at(0).Revision <= rev {
		*b.at(0) = storage.Event{}
		b.start = (b.start + 1) % len(b.events)
		b.n--
	}
}

func (b *eventBuffer) reset() {
	b.events, b.start, b.n = nil, 0, 0
}

// since appends to dst the events with Revision > rev whose key has the
// given prefix, oldest first.
func (b *eventBuffer) since(dst []storage.Event, rev int64, prefix string) []storage.Event {
	i := sort.Search(b.n, func(i int) bool { return b.at(i).Revision > rev })
	for ; i < b.n; i++ {
		ev := b.at(i)
		if hasPrefix(ev.KV.Key, prefix) {
			dst = append(dst, *ev)
		}
	}
	return dst
}

func hasPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && s[:len(prefix)] == prefix
}
