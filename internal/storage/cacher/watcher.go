package cacher

import (
	"context"
	"sync"

	"github.com/skiff-dev/skiff/internal/storage"
)

// cacheWatcher is one client watch served from a cache. The cache's
// dispatcher feeds it through in without ever blocking; its own goroutine
// moves events to out at the client's pace.
type cacheWatcher struct {
	cache    *cache
	prefix   string
	progress bool // wants Progress events
	// in is sent to and closed only by the cache, holding cache.mu, and
	// only while the watcher is registered in cache.watchers.
	in  chan storage.Event
	out chan storage.Event
	// idle is guarded by cache.mu: no event was queued since the last
	// progress tick.
	idle bool

	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu  sync.Mutex
	err error // why the cache ended this watcher; nil when stopped
}

// run delivers the replayed events, then the live ones, until the cache
// closes in or the watch is stopped.
func (w *cacheWatcher) run(ctx context.Context, initial []storage.Event) {
	defer close(w.done)
	defer close(w.out)
	defer w.cache.removeWatcher(w)
	for _, ev := range initial {
		if !w.send(ctx, ev) {
			return
		}
	}
	initial = nil // let the replayed events be collected
	for {
		select {
		case ev, ok := <-w.in:
			if !ok {
				return
			}
			if !w.send(ctx, ev) {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

func (w *cacheWatcher) send(ctx context.Context, ev storage.Event) bool {
	select {
	case w.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// end is called by the cache, holding cache.mu, after removing the watcher
// from its set: the events already queued are still delivered, then the
// stream closes with err.
func (w *cacheWatcher) end(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
	close(w.in)
}

func (w *cacheWatcher) Events() <-chan storage.Event { return w.out }

func (w *cacheWatcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *cacheWatcher) Stop() {
	w.cancel()
	<-w.done
}
