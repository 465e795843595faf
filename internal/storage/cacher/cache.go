package cacher

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/skiff-dev/skiff/internal/storage"
)

// cache holds the state of one registered prefix: every key under it, the
// newest events, and the watchers fed from them.
type cache struct {
	prefix  string
	decoder storage.Decoder
	store   storage.Interface
	cfg     *Config
	log     *slog.Logger

	// mu guards every field below. The reflector goroutine is the only
	// writer of items, rev, events and window; readers hold mu.RLock while
	// copying what they return.
	mu sync.RWMutex
	// items holds every key under prefix as of rev, ordered by key.
	// Values and objects are shared with readers and never mutated.
	items *btree.BTreeG[storage.KV]
	// rev is the store revision the cache reflects: every event up to it
	// has been applied.
	rev int64
	// window is the revision after which events is complete: a watch from
	// any revision >= window can be served from memory.
	window int64
	events *eventBuffer
	// ready is false until the first list and while re-listing.
	ready bool
	// revChanged is closed and replaced whenever rev or ready changes.
	revChanged chan struct{}
	// storeWatch is the running watch on the store (nil between watches);
	// used to ask it for progress.
	storeWatch storage.Watcher
	watchers   map[*cacheWatcher]struct{}
	// stopped is set when the cacher closes; no new watchers after it.
	stopped bool
}

func newCache(prefix string, dec storage.Decoder, store storage.Interface, cfg *Config) *cache {
	return &cache{
		prefix:     prefix,
		decoder:    dec,
		store:      store,
		cfg:        cfg,
		log:        cfg.Logger.With("prefix", prefix),
		items:      newItems(),
		events:     newEventBuffer(cfg.EventWindow),
		revChanged: make(chan struct{}),
		watchers:   make(map[*cacheWatcher]struct{}),
	}
}

func newItems() *btree.BTreeG[storage.KV] {
	return btree.NewG(32, func(a, b storage.KV) bool { return a.Key < b.Key })
}

// notifyLocked wakes everyone waiting for a revision. Caller holds mu.
func (c *cache) notifyLocked() {
	close(c.revChanged)
	c.revChanged = make(chan struct{})
}

// decode runs the decoder, keeping the value undecoded when it fails (the
// reader then decodes it itself and sees the error).
func (c *cache) decode(kv *storage.KV) {
	if c.decoder == nil || kv.Value == nil {
		return
	}
	obj, err := c.decoder(kv.Value, kv.ModRevision)
	if err != nil {
		c.log.Warn("cannot decode stored value", "key", kv.Key, "revision", kv.ModRevision, "err", err)
		return
	}
	kv.Object = obj
}

// reset replaces the whole state with a fresh list at rev. Watchers that
// were following the old state cannot be continued.
func (c *cache) reset(items *btree.BTreeG[storage.KV], rev int64, w storage.Watcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = items
	c.rev = rev
	c.window = rev
	c.events.reset()
	c.ready = true
	c.storeWatch = w
	for cw := range c.watchers {
		delete(c.watchers, cw)
		cw.end(fmt.Errorf("watch cache for %s re-listed at revision %d: %w", c.prefix, rev, storage.ErrCompacted))
	}
	c.notifyLocked()
}

// setWatch records the store watch after a re-watch that needed no list.
func (c *cache) setWatch(w storage.Watcher) {
	c.mu.Lock()
	c.storeWatch = w
	c.mu.Unlock()
}

// unready marks the cache as not serving until the next reset.
func (c *cache) unready() {
	c.mu.Lock()
	c.ready = false
	c.storeWatch = nil
	c.notifyLocked()
	c.mu.Unlock()
}

// apply folds one store event into the state and fans it out. ev.KV.Object
// is already decoded. Only the reflector calls it.
func (c *cache) apply(ev storage.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.Type == storage.Progress {
		if ev.Revision > c.rev {
			c.rev = ev.Revision
			c.notifyLocked()
		}
		return
	}
	if ev.Revision < c.rev {
		return // already reflected (a re-watch overlapping the list)
	}
	old, hadOld := c.items.Get(storage.KV{Key: ev.KV.Key})
	if hadOld {
		// Our copy carries the decoded object and survives compaction of
		// the store's previous value.
		ev.Prev = old
	}
	switch ev.Type {
	case storage.Deleted:
		if hadOld {
			ev.KV = old
			ev.KV.ModRevision = ev.Revision
		}
		c.items.Delete(storage.KV{Key: ev.KV.Key})
	default:
		if hadOld {
			ev.Type = storage.Modified
		} else {
			ev.Type = storage.Added
		}
		c.items.ReplaceOrInsert(ev.KV)
	}
	c.rev = ev.Revision
	if evictedRev, evicted := c.events.push(ev); evicted && evictedRev > c.window {
		c.window = evictedRev
	}
	c.dispatchLocked(ev)
	c.notifyLocked()
}

// dispatchLocked queues ev for every watcher whose prefix matches, ending
// the watchers whose queue is full instead of waiting for them.
func (c *cache) dispatchLocked(ev storage.Event) {
	for w := range c.watchers {
		if !hasPrefix(ev.KV.Key, w.prefix) {
			continue
		}
		select {
		case w.in <- ev:
			w.idle = false
		default:
			delete(c.watchers, w)
			w.end(fmt.Errorf("%w: more than %d events queued at revision %d", ErrWatcherTooSlow, cap(w.in), ev.Revision))
		}
	}
}

// tickProgress sends a Progress event at the cache's revision to every
// progress-notified watcher that got nothing since the previous tick.
func (c *cache) tickProgress() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		return
	}
	for w := range c.watchers {
		if !w.progress {
			continue
		}
		if w.idle {
			select {
			case w.in <- storage.Event{Type: storage.Progress, Revision: c.rev}:
			default: // a full queue has events to deliver anyway
			}
		}
		w.idle = true
	}
}

// compact drops the history before rev, as the store just did.
func (c *cache) compact(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev-1 > c.window {
		c.window = rev - 1
		c.events.dropThrough(c.window)
	}
}

// stop ends every watcher; no new ones are accepted.
func (c *cache) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	c.ready = false
	for w := range c.watchers {
		delete(c.watchers, w)
		w.end(errStopped)
	}
	c.notifyLocked()
}

func (c *cache) removeWatcher(w *cacheWatcher) {
	c.mu.Lock()
	delete(c.watchers, w)
	c.mu.Unlock()
}

// waitFor waits until the cache is ready and has reached rev (0: just
// ready), asking the store watch for progress while it waits, for at most
// timeout. It reports whether the cache got there.
func (c *cache) waitFor(ctx context.Context, rev int64, timeout time.Duration) bool {
	var deadline <-chan time.Time
	var nudge *time.Ticker
	for {
		c.mu.RLock()
		ok := c.ready && c.rev >= rev
		changed, sw, stopped := c.revChanged, c.storeWatch, c.stopped
		c.mu.RUnlock()
		if ok {
			return true
		}
		if stopped {
			return false
		}
		if deadline == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
			// etcd ignores a progress request while its watchers are
			// catching up, so ask again until the answer comes.
			nudge = time.NewTicker(progressRetry)
			defer nudge.Stop()
			requestProgress(sw)
		}
		select {
		case <-changed:
		case <-nudge.C:
			requestProgress(sw)
		case <-deadline:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

func requestProgress(w storage.Watcher) {
	if pr, ok := w.(storage.ProgressRequester); ok {
		pr.RequestProgress()
	}
}

// get returns key as the cache has it now; false before the first list
// or when the cache does not hold key.
func (c *cache) get(key string) (storage.KV, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.items == nil {
		return storage.KV{}, false
	}
	return c.items.Get(storage.KV{Key: key})
}

// list answers from memory. Caller has checked the cache is fresh enough.
func (c *cache) list(prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	start := prefix
	if opts.StartKey != "" {
		if !strings.HasPrefix(opts.StartKey, prefix) {
			return storage.ListResult{}, fmt.Errorf("list %s: start key %q is outside the prefix", prefix, opts.StartKey)
		}
		start = opts.StartKey
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	res := storage.ListResult{Revision: c.rev}
	size := 16
	if prefix == c.prefix && opts.StartKey == "" {
		size = c.items.Len()
	}
	if opts.Limit > 0 && int64(size) > opts.Limit {
		size = int(opts.Limit)
	}
	res.Items = make([]storage.KV, 0, size)
	c.items.AscendGreaterOrEqual(storage.KV{Key: start}, func(kv storage.KV) bool {
		if !hasPrefix(kv.Key, prefix) {
			return false
		}
		if opts.Limit > 0 && int64(len(res.Items)) >= opts.Limit {
			res.RemainingCount++
			return true
		}
		res.Items = append(res.Items, kv)
		return true
	})
	if res.RemainingCount > 0 {
		res.More = true
		res.NextKey = res.Items[len(res.Items)-1].Key + "\x00"
	}
	return res, nil
}

// watch registers a watcher for events under prefix after fromRev. The
// caller has waited until the cache reached fromRev.
func (c *cache) watch(ctx context.Context, prefix string, fromRev int64, progress bool) (storage.Watcher, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, errStopped
	}
	if fromRev < c.window {
		return nil, fmt.Errorf("watch %s from %d: oldest revision held is %d: %w", prefix, fromRev, c.window, storage.ErrCompacted)
	}
	initial := c.events.since(nil, fromRev, prefix)
	wctx, cancel := context.WithCancel(ctx)
	w := &cacheWatcher{
		cache:    c,
		prefix:   prefix,
		progress: progress,
		in:       make(chan storage.Event, c.cfg.WatcherBuffer),
		out:      make(chan storage.Event),
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	c.watchers[w] = struct{}{}
	go w.run(wctx, initial)
	return w, nil
}
