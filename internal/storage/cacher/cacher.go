package cacher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/skiff-dev/skiff/internal/storage"
)

// ErrWatcherTooSlow ends a watch whose reader fell so far behind that its
// queue filled up; the cache drops it rather than block every other
// watcher. The client should watch again from the last revision it saw.
var ErrWatcherTooSlow = errors.New("cacher: watcher fell too far behind")

var errStopped = errors.New("cacher: stopped")

// progressRetry is how often a waiting reader asks the store watch for
// progress again.
const progressRetry = 100 * time.Millisecond

// Resource registers one prefix to cache.
type Resource struct {
	// Prefix of the cached keys, ending in "/" ("/registry/pods/").
	Prefix string
	// Decoder, when set, decodes every value once; lists and events then
	// carry KV.Object.
	Decoder storage.Decoder
}

// Config says what to cache and how.
type Config struct {
	Resources []Resource
	// Logger for cache trouble (nil: discarded).
	Logger *slog.Logger
	// EventWindow is how many recent events each prefix keeps for watches
	// resuming from a past revision (default 4096).
	EventWindow int
	// WatcherBuffer is how many events a watcher may have queued before it
	// is ended with ErrWatcherTooSlow (default 1024).
	WatcherBuffer int
	// WaitTimeout bounds the wait for the cache to reach a revision (or to
	// become ready) before the request goes to the store (default 3 s).
	WaitTimeout time.Duration
	// ProgressInterval is how often idle watchers that asked for progress
	// get a Progress event (default 1 s).
	ProgressInterval time.Duration
}

func (cfg *Config) setDefaults() {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.EventWindow <= 0 {
		cfg.EventWindow = 4096
	}
	if cfg.WatcherBuffer <= 0 {
		cfg.WatcherBuffer = 1024
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = 3 * time.Second
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = time.Second
	}
}

// Cacher is a storage.Interface that serves lists and watches of the
// registered prefixes from memory and passes everything else to the store.
type Cacher struct {
	store storage.Interface
	cfg   Config
	// caches is fixed after New; each cache guards its own state.
	caches []*cache

	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
}

var _ storage.Interface = (*Cacher)(nil)

// New starts caching cfg.Resources from store. The caches fill in the
// background; until one is ready its requests wait (up to WaitTimeout)
// or go to the store. Call Close to stop.
func New(store storage.Interface, cfg Config) *Cacher {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cacher{store: store, cfg: cfg, cancel: cancel}
	seen := map[string]bool{}
	for _, r := range cfg.Resources {
		if seen[r.Prefix] || r.Prefix == "" {
			cfg.Logger.Warn("ignoring duplicate or empty cache prefix", "prefix", r.Prefix)
			continue
		}
		seen[r.Prefix] = true
		cc := newCache(r.Prefix, r.Decoder, store, &c.cfg)
		c.caches = append(c.caches, cc)
		c.wg.Add(2)
		go func() {
			defer c.wg.Done()
			cc.run(ctx)
		}()
		go func() {
			defer c.wg.Done()
			c.progressLoop(ctx, cc)
		}()
	}
	return c
}

func (c *Cacher) progressLoop(ctx context.Context, cc *cache) {
	t := time.NewTicker(c.cfg.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cc.tickProgress()
		}
	}
}

// Close stops the caches and ends their watchers. The store stays open.
func (c *Cacher) Close() {
	c.closed.Do(func() {
		c.cancel()
		c.wg.Wait()
		for _, cc := range c.caches {
			cc.stop()
		}
	})
}

// WaitReady waits until every cache has its first list.
func (c *Cacher) WaitReady(ctx context.Context) error {
	for _, cc := range c.caches {
		for !cc.waitFor(ctx, 0, time.Minute) {
			if ctx.Err() != nil {
				return fmt.Errorf("wait for watch cache %s: %w", cc.prefix, ctx.Err())
			}
		}
	}
	return nil
}

// cacheFor returns the cache holding every key under prefix (the longest
// registered prefix that prefix starts with), or nil.
func (c *Cacher) cacheFor(prefix string) *cache {
	var best *cache
	for _, cc := range c.caches {
		if strings.HasPrefix(prefix, cc.prefix) && (best == nil || len(cc.prefix) > len(best.prefix)) {
			best = cc
		}
	}
	return best
}

// Get reads from the store: a read after a write must see the write.
func (c *Cacher) Get(ctx context.Context, key string) (storage.KV, error) {
	return c.store.Get(ctx, key)
}

// GetRecent returns key as the cache has it now, without waiting for the
// cache to catch up with the store (see storage.RecentGetter).
func (c *Cacher) GetRecent(key string) (storage.KV, bool) {
	cc := c.cacheFor(key)
	if cc == nil {
		return storage.KV{}, false
	}
	return cc.get(key)
}

func (c *Cacher) Create(ctx context.Context, key string, value []byte) (int64, error) {
	return c.store.Create(ctx, key, value)
}

func (c *Cacher) Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error) {
	return c.store.Update(ctx, key, value, expectedRevision)
}

func (c *Cacher) Delete(ctx context.Context, key string, expectedRevision int64) (storage.KV, int64, error) {
	return c.store.Delete(ctx, key, expectedRevision)
}

func (c *Cacher) CurrentRevision(ctx context.Context) (int64, error) {
	return c.store.CurrentRevision(ctx)
}

// Compact compacts the store, then drops the caches' history before
// revision so that both answer the same.
func (c *Cacher) Compact(ctx context.Context, revision int64) error {
	if err := c.store.Compact(ctx, revision); err != nil {
		return err
	}
	for _, cc := range c.caches {
		cc.compact(revision)
	}
	return nil
}

// List answers from memory when the cache is fresh enough:
//   - Revision 0 (consistent): once the cache reaches the store's current
//     revision;
//   - NotOlderThan: once the cache reaches Revision;
//   - an exact Revision always goes to the store (continue pages).
//
// When the cache does not get there within WaitTimeout the store answers.
func (c *Cacher) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	cc := c.cacheFor(prefix)
	if cc == nil || (opts.Revision > 0 && !opts.NotOlderThan) {
		return c.store.List(ctx, prefix, opts)
	}
	want := opts.Revision
	if want == 0 {
		rev, err := c.store.CurrentRevision(ctx)
		if err != nil {
			return storage.ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
		}
		want = rev
	}
	if !cc.waitFor(ctx, want, c.cfg.WaitTimeout) {
		if err := ctx.Err(); err != nil {
			return storage.ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
		}
		return c.store.List(ctx, prefix, opts)
	}
	return cc.list(prefix, opts)
}

// Watch serves from the cache's recent events and live fan-out;
// fromRevision 0 means the store's current revision. A
// revision older than the cache window fails with ErrCompacted; one newer
// than the cache is waited for (WaitTimeout), then ErrFutureRevision if
// the store has not reached it either, else the store serves the watch.
func (c *Cacher) Watch(ctx context.Context, prefix string, fromRevision int64, progressNotify bool) (storage.Watcher, error) {
	cc := c.cacheFor(prefix)
	if cc == nil {
		return c.store.Watch(ctx, prefix, fromRevision, progressNotify)
	}
	if fromRevision == 0 {
		// "From now" is the store's now: the cache may not have applied
		// writes that completed before this call.
		rev, err := c.store.CurrentRevision(ctx)
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", prefix, err)
		}
		fromRevision = rev
	}
	if !cc.waitFor(ctx, fromRevision, c.cfg.WaitTimeout) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("watch %s: %w", prefix, err)
		}
		if fromRevision > 0 {
			rev, err := c.store.CurrentRevision(ctx)
			if err != nil {
				return nil, fmt.Errorf("watch %s: %w", prefix, err)
			}
			if rev < fromRevision {
				return nil, fmt.Errorf("watch %s from %d (store at %d): %w", prefix, fromRevision, rev, storage.ErrFutureRevision)
			}
		}
		return c.store.Watch(ctx, prefix, fromRevision, progressNotify)
	}
	return cc.watch(ctx, prefix, fromRevision, progressNotify)
}
