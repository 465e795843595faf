package cacher_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/skiff-dev/skiff/internal/storage"
	"github.com/skiff-dev/skiff/internal/storage/cacher"
	"github.com/skiff-dev/skiff/internal/storage/storagetest"
)

// TestConcurrentWritersWatchersLists checks, under concurrent load, that
// every watcher sees every event exactly once in revision order and that
// consistent lists never go back in time.
func TestConcurrentWritersWatchersLists(t *testing.T) {
	c := newCacher(t, newEtcdStore(t), cacher.Config{})
	ctx := t.Context()
	start, err := c.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const writers, writes, watchers = 4, 30, 3

	var ws []storage.Watcher
	for i := range watchers {
		w, err := c.Watch(ctx, storagetest.Prefix, start, i%2 == 0)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ws = append(ws, w)
	}
	results := make([]chan error, watchers)
	for i, w := range ws {
		results[i] = make(chan error, 1)
		go func() {
			var last int64
			for n := 0; n < writers*writes; {
				ev, ok := <-w.Events()
				if !ok {
					results[i] <- fmt.Errorf("watch ended: %v", w.Err())
					return
				}
				if ev.Type == storage.Progress {
					if ev.Revision < last {
						results[i] <- fmt.Errorf("progress %d after event %d", ev.Revision, last)
						return
					}
					continue
				}
				if ev.Revision <= last {
					results[i] <- fmt.Errorf("event %d after %d", ev.Revision, last)
					return
				}
				last = ev.Revision
				n++
			}
			results[i] <- nil
		}()
	}

	var wg sync.WaitGroup
	done := make(chan struct{})
	listErr := make(chan error, 1)
	go func() {
		var last int64
		for {
			select {
			case <-done:
				listErr <- nil
				return
			default:
			}
			res, err := c.List(ctx, storagetest.Prefix, storage.ListOptions{})
			if err != nil {
				listErr <- err
				return
			}
			if res.Revision < last {
				listErr <- fmt.Errorf("list went back from %d to %d", last, res.Revision)
				return
			}
			last = res.Revision
		}
	}()
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := key(fmt.Sprint("w", i))
			rev, err := c.Create(ctx, k, []byte("0"))
			if err != nil {
				t.Error(err)
				return
			}
			for n := 1; n < writes; n++ {
				if rev, err = c.Update(ctx, k, []byte(fmt.Sprint(n)), rev); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	if err := <-listErr; err != nil {
		t.Fatal(err)
	}
	for i := range results {
		if err := <-results[i]; err != nil {
			t.Fatalf("watcher %d: %v", i, err)
		}
	}
	res, err := c.List(ctx, storagetest.Prefix, storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != writers {
		t.Fatalf("final list has %d items", len(res.Items))
	}
	for _, kv := range res.Items {
		if string(kv.Value) != fmt.Sprint(writes-1) {
			t.Fatalf("%s = %s", kv.Key, kv.Value)
		}
	}
}
