package cacher

import (
	"context"
	"errors"
	"time"

	"github.com/skiff-dev/skiff/internal/storage"
)

// Backoff between failed list/watch attempts, doubling up to the maximum.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// run keeps the cache in step with the store until ctx ends: list, then
// watch from the list's revision; when the watch ends, watch again from
// the cache's revision, and list again only if that revision is gone.
func (c *cache) run(ctx context.Context) {
	backoff := minBackoff
	needList := true
	for ctx.Err() == nil {
		var established bool
		var err error
		if needList {
			established, err = c.listAndWatch(ctx)
		} else {
			established, err = c.rewatch(ctx)
		}
		if ctx.Err() != nil {
			return
		}
		c.unready()
		switch {
		case errors.Is(err, storage.ErrCompacted):
			needList = true
		case established:
			needList = false
		}
		if established {
			backoff = minBackoff
		}
		c.log.Warn("watch cache lost its store watch", "err", err, "relist", needList)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listAndWatch replaces the state with a fresh list and follows the store
// watch until it ends.
func (c *cache) listAndWatch(ctx context.Context) (established bool, err error) {
	res, err := c.store.List(ctx, c.prefix, storage.ListOptions{})
	if err != nil {
		return false, err
	}
	items := newItems()
	for i := range res.Items {
		kv := res.Items[i]
		c.decode(&kv)
		items.ReplaceOrInsert(kv)
	}
	w, err := c.store.Watch(ctx, c.prefix, res.Revision, true)
	if err != nil {
		return false, err
	}
	defer w.Stop()
	c.reset(items, res.Revision, w)
	return true, c.follow(ctx, w)
}

// rewatch resumes the store watch from the cache's revision, keeping the
// state and the watchers.
func (c *cache) rewatch(ctx context.Context) (established bool, err error) {
	c.mu.RLock()
	rev := c.rev
	c.mu.RUnlock()
	w, err := c.store.Watch(ctx, c.prefix, rev, true)
	if err != nil {
		return false, err
	}
	defer w.Stop()
	c.setWatch(w)
	// Ready again: the state is complete up to rev and the watch
	// continues from there.
	c.mu.Lock()
	c.ready = true
	c.notifyLocked()
	c.mu.Unlock()
	return true, c.follow(ctx, w)
}

// follow applies the store's events until the watch ends, returning why.
func (c *cache) follow(ctx context.Context, w storage.Watcher) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-w.Events():
			if !ok {
				if err := w.Err(); err != nil {
					return err
				}
				return errors.New("store watch ended")
			}
			if ev.Type == storage.Added || ev.Type == storage.Modified {
				ev.KV.Object = nil
				c.decode(&ev.KV)
			}
			c.apply(ev)
		}
	}
}
