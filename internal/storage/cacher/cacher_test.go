package cacher_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/internal/storage"
	"github.com/skiff-dev/skiff/internal/storage/cacher"
	"github.com/skiff-dev/skiff/internal/storage/etcd3"
	"github.com/skiff-dev/skiff/internal/storage/storagetest"
)

const waitTimeout = 15 * time.Second

func newEtcdStore(t testing.TB) *etcd3.Store {
	return etcd3.New(storagetest.NewEtcd(t), etcd3.WithProgressInterval(200*time.Millisecond))
}

func newCacher(t testing.TB, store storage.Interface, cfg cacher.Config) *cacher.Cacher {
	t.Helper()
	if cfg.Resources == nil {
		cfg.Resources = []cacher.Resource{{Prefix: storagetest.Prefix, Decoder: decodeString}}
	}
	if cfg.ProgressInterval == 0 {
		cfg.ProgressInterval = 100 * time.Millisecond
	}
	if cfg.WaitTimeout == 0 {
		cfg.WaitTimeout = time.Second
	}
	c := cacher.New(store, cfg)
	t.Cleanup(c.Close)
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestContract(t *testing.T) {
	storagetest.RunTests(t, func(t *testing.T) storage.Interface {
		return newCacher(t, newEtcdStore(t), cacher.Config{})
	})
}

// decoded is the object decodeString makes: the value and the revision
// it was decoded at.
type decoded struct {
	runtime.Unknown
	rev int64
}

func decodeString(value []byte, rev int64) (runtime.Object, error) {
	if string(value) == "bad" {
		return nil, errors.New("bad value")
	}
	return &decoded{Unknown: runtime.Unknown{Raw: value}, rev: rev}, nil
}

func key(name string) string { return storagetest.Prefix + name }

func create(t testing.TB, s storage.Interface, k, v string) int64 {
	t.Helper()
	rev, err := s.Create(t.Context(), k, []byte(v))
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func TestListFromMemory(t *testing.T) {
	spy := newSpy(newEtcdStore(t))
	c := newCacher(t, spy, cacher.Config{})
	ctx := t.Context()
	for i := range 5 {
		create(t, c, key(fmt.Sprintf("ns1/p%d", i)), fmt.Sprint("v", i))
	}
	create(t, c, key("ns2/p"), "x")
	create(t, c, key("bad"), "bad")
	// The newest write goes elsewhere: the cache must learn through a
	// progress event that it is current, not fall back to the store.
	last := create(t, c, storagetest.OtherPrefix+"x", "x")
	before := spy.lists.Load()

	res, err := c.List(ctx, key("ns1/"), storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := spy.lists.Load() - before; n != 0 {
		t.Fatalf("consistent list went to the store %d times", n)
	}
	if res.Revision < last {
		t.Fatalf("list at %d, before the newest write %d", res.Revision, last)
	}
	if len(res.Items) != 5 {
		t.Fatalf("got %d items", len(res.Items))
	}
	for i, kv := range res.Items {
		obj, ok := kv.Object.(*decoded)
		if !ok || string(obj.Raw) != fmt.Sprint("v", i) || obj.rev != kv.ModRevision {
			t.Fatalf("item %s object %#v", kv.Key, kv.Object)
		}
	}
	// A value that fails to decode is still listed, undecoded.
	res, err = c.List(ctx, key("bad"), storage.ListOptions{})
	if err != nil || len(res.Items) != 1 || res.Items[0].Object != nil || string(res.Items[0].Value) != "bad" {
		t.Fatalf("bad item = %+v, %v", res.Items, err)
	}

	// Paging in memory, within a namespace.
	page, err := c.List(ctx, key("ns1/"), storage.ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !page.More || page.RemainingCount != 3 || len(page.Items) != 2 || page.NextKey != key("ns1/p1")+"\x00" {
		t.Fatalf("page = %+v", page)
	}
	page, err = c.List(ctx, key("ns1/"), storage.ListOptions{Limit: 3, StartKey: page.NextKey, Revision: page.Revision, NotOlderThan: true})
	if err != nil {
		t.Fatal(err)
	}
	if page.More || len(page.Items) != 3 || page.Items[0].Key != key("ns1/p2") {
		t.Fatalf("second page = %+v", page)
	}
	if n := spy.lists.Load() - before; n != 0 {
		t.Fatalf("lists went to the store %d times", n)
	}
	// An exact revision goes to the store.
	if _, err := c.List(ctx, key("ns1/"), storage.ListOptions{Revision: page.Revision}); err != nil {
		t.Fatal(err)
	}
	if n := spy.lists.Load() - before; n != 1 {
		t.Fatalf("exact list reached the store %d times, want 1", n)
	}
}

func TestWatchEventsCarryObjects(t *testing.T) {
	c := newCacher(t, newEtcdStore(t), cacher.Config{})
	start, _ := c.CurrentRevision(t.Context())
	w, err := c.Watch(t.Context(), storagetest.Prefix, start, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	r1 := create(t, c, key("a"), "one")
	r2, err := c.Update(t.Context(), key("a"), []byte("two"), r1)
	if err != nil {
		t.Fatal(err)
	}
	_, r3, err := c.Delete(t.Context(), key("a"), 0)
	if err != nil {
		t.Fatal(err)
	}
	check := func(kv storage.KV, value string, rev int64) {
		t.Helper()
		obj, ok := kv.Object.(*decoded)
		if !ok || string(obj.Raw) != value || obj.rev != rev {
			t.Fatalf("object %#v, want %q at %d", kv.Object, value, rev)
		}
	}
	ev := next(t, w)
	check(ev.KV, "one", r1)
	ev = next(t, w)
	check(ev.KV, "two", r2)
	check(ev.Prev, "one", r1)
	ev = next(t, w)
	if ev.Type != storage.Deleted || ev.KV.ModRevision != r3 {
		t.Fatalf("delete event %+v", ev)
	}
	check(ev.KV, "two", r2) // the last object, as written
	check(ev.Prev, "two", r2)
}

func next(t *testing.T, w storage.Watcher) storage.Event {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("watch ended: %v", w.Err())
			}
			if ev.Type != storage.Progress {
				return ev
			}
		case <-timeout:
			t.Fatal("no event")
		}
	}
}

// drain reads until the stream closes and returns the events and Err.
func drain(t *testing.T, w storage.Watcher) ([]storage.Event, error) {
	t.Helper()
	var evs []storage.Event
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return evs, w.Err()
			}
			if ev.Type != storage.Progress {
				evs = append(evs, ev)
			}
		case <-timeout:
			t.Fatal("watch did not end")
		}
	}
}

func TestSlowWatcherIsDropped(t *testing.T) {
	c := newCacher(t, newEtcdStore(t), cacher.Config{WatcherBuffer: 4})
	start, _ := c.CurrentRevision(t.Context())
	slow, err := c.Watch(t.Context(), storagetest.Prefix, start, false)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Stop()
	fast, err := c.Watch(t.Context(), storagetest.Prefix, start, false)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Stop()
	const n = 20
	got := make(chan int)
	go func() {
		count := 0
		for ev := range fast.Events() {
			if ev.Type != storage.Progress {
				count++
				if count == n {
					break
				}
			}
		}
		got <- count
	}()
	for i := range n {
		create(t, c, key(fmt.Sprint("k", i)), "v")
	}
	select {
	case count := <-got:
		if count != n {
			t.Fatalf("fast watcher got %d events", count)
		}
	case <-time.After(waitTimeout):
		t.Fatal("fast watcher blocked")
	}
	evs, err := drain(t, slow)
	if !errors.Is(err, cacher.ErrWatcherTooSlow) {
		t.Fatalf("slow watcher err = %v", err)
	}
	// What it did get is a gap-free prefix of the history.
	for i, ev := range evs {
		if ev.KV.Key != key(fmt.Sprint("k", i)) {
			t.Fatalf("slow watcher event %d is %s", i, ev.KV.Key)
		}
	}
}

func TestWatchOlderThanWindow(t *testing.T) {
	c := newCacher(t, newEtcdStore(t), cacher.Config{EventWindow: 3})
	r1 := create(t, c, key("a"), "v")
	for i := range 4 {
		create(t, c, key(fmt.Sprint("b", i)), "v")
	}
	last := create(t, c, key("c"), "v")
	// Let the cache see the last write.
	if _, err := c.List(t.Context(), storagetest.Prefix, storage.ListOptions{Revision: last, NotOlderThan: true}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Watch(t.Context(), storagetest.Prefix, r1, false)
	if !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("watch before the window: %v", err)
	}
	w, err := c.Watch(t.Context(), storagetest.Prefix, last-3, false)
	if err != nil {
		t.Fatalf("watch at the window start: %v", err)
	}
	defer w.Stop()
	for rev := last - 2; rev <= last; rev++ {
		if ev := next(t, w); ev.Revision != rev {
			t.Fatalf("event at %d, want %d", ev.Revision, rev)
		}
	}
}

func TestStoreWatchInterrupted(t *testing.T) {
	spy := newSpy(newEtcdStore(t))
	c := newCacher(t, spy, cacher.Config{})
	start := create(t, c, key("a"), "v")
	w, err := c.Watch(t.Context(), storagetest.Prefix, start, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	lists := spy.lists.Load()

	// A transient failure: the cache resumes from its revision without a
	// list and the watcher notices nothing.
	spy.cutAll(errors.New("connection reset"))
	r := create(t, c, key("b"), "v")
	if ev := next(t, w); ev.Revision != r || ev.KV.Key != key("b") {
		t.Fatalf("after resume got %v %s at %d", ev.Type, ev.KV.Key, ev.Revision)
	}
	if n := spy.lists.Load() - lists; n != 0 {
		t.Fatalf("resume listed %d times", n)
	}

	// Compaction: the cache lists again and ends the watcher with
	// ErrCompacted.
	spy.cutAll(fmt.Errorf("watch: %w", storage.ErrCompacted))
	if _, err := drain(t, w); !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("watcher err after re-list = %v", err)
	}
	if spy.lists.Load() == lists {
		t.Fatal("no re-list after compaction")
	}
	// The cache serves again.
	r = create(t, c, key("c"), "v")
	res, err := c.List(t.Context(), storagetest.Prefix, storage.ListOptions{})
	if err != nil || len(res.Items) != 3 || res.Revision < r {
		t.Fatalf("list after re-list = %v at %d, %v", len(res.Items), res.Revision, err)
	}
}

func TestProgressBookmarks(t *testing.T) {
	c := newCacher(t, newEtcdStore(t), cacher.Config{ProgressInterval: 50 * time.Millisecond})
	rev := create(t, c, key("a"), "v")
	w, err := c.Watch(t.Context(), storagetest.Prefix, rev, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	other := create(t, c, storagetest.OtherPrefix+"a", "v")
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev := <-w.Events():
			if ev.Type != storage.Progress {
				t.Fatalf("unexpected %v", ev.Type)
			}
			if ev.Revision >= other {
				return
			}
		case <-timeout:
			t.Fatal("no progress to the newest revision")
		}
	}
}

func TestManyItemsListFast(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 3000 keys")
	}
	store := newEtcdStore(t)
	c := newCacher(t, store, cacher.Config{})
	fill(t, store, 3000)
	rev, _ := c.CurrentRevision(t.Context())
	// Warm: wait until the cache has every key.
	if _, err := c.List(t.Context(), storagetest.Prefix, storage.ListOptions{Revision: rev, NotOlderThan: true}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	res, err := c.List(t.Context(), storagetest.Prefix, storage.ListOptions{Revision: rev, NotOlderThan: true})
	took := time.Since(began)
	if err != nil || len(res.Items) != 3000 {
		t.Fatalf("list = %d items, %v", len(res.Items), err)
	}
	t.Logf("listing 3000 items from memory took %s", took)
}

// fill writes n keys with batched concurrency (one etcd round trip each).
func fill(t testing.TB, s storage.Interface, n int) {
	t.Helper()
	const workers = 16
	errc := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := w; i < n; i += workers {
				if _, err := s.Create(t.Context(), key(fmt.Sprintf("ns/item-%05d", i)), make([]byte, 512)); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range workers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkList3000(b *testing.B) {
	store := newEtcdStore(b)
	c := newCacher(b, store, cacher.Config{})
	fill(b, store, 3000)
	rev, _ := c.CurrentRevision(b.Context())
	opts := storage.ListOptions{Revision: rev, NotOlderThan: true}
	if _, err := c.List(b.Context(), storagetest.Prefix, opts); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := c.List(b.Context(), storagetest.Prefix, opts)
		if err != nil || len(res.Items) != 3000 {
			b.Fatal(len(res.Items), err)
		}
	}
}
