package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/storage"
)

func mustWatch(t *testing.T, s storage.Interface, ctx context.Context, prefix string, from int64, progress bool) storage.Watcher {
	t.Helper()
	w, err := s.Watch(ctx, prefix, from, progress)
	if err != nil {
		t.Fatalf("watch %s from %d: %v", prefix, from, err)
	}
	t.Cleanup(w.Stop)
	return w
}

// nextEvent returns the next non-progress event, failing the test if the
// stream ends or nothing arrives in time.
func nextEvent(t *testing.T, w storage.Watcher) storage.Event {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("watch ended early: %v", w.Err())
			}
			if ev.Type == storage.Progress {
				continue
			}
			return ev
		case <-deadline:
			t.Fatal("no watch event in time")
		}
	}
}

// expectClosed waits for the stream to end and returns its Err, failing on
// any non-progress event.
func expectClosed(t *testing.T, w storage.Watcher) error {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return w.Err()
			}
			if ev.Type != storage.Progress {
				t.Fatalf("unexpected event %v %s at %d", ev.Type, ev.KV.Key, ev.Revision)
			}
		case <-deadline:
			t.Fatal("watch did not end in time")
		}
	}
}

// expectQuiet fails if a non-progress event arrives within a short while.
// Used only after a later event proves the earlier ones were delivered.
func expectQuiet(t *testing.T, w storage.Watcher, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("watch ended: %v", w.Err())
			}
			if ev.Type != storage.Progress {
				t.Fatalf("unexpected event %v %s at %d", ev.Type, ev.KV.Key, ev.Revision)
			}
		case <-timer.C:
			return
		}
	}
}

// wantEvent is an expected event; prevRev -1 skips the Prev check.
type wantEvent struct {
	typ     storage.EventType
	key     string
	value   string
	rev     int64
	prev    string
	prevRev int64
}

func checkEvent(t *testing.T, ev storage.Event, want wantEvent) {
	t.Helper()
	if ev.Type != want.typ || ev.KV.Key != want.key || string(ev.KV.Value) != want.value ||
		ev.Revision != want.rev || ev.KV.ModRevision != want.rev {
		t.Fatalf("event = %v %s=%q rev %d (kv rev %d), want %v %s=%q rev %d",
			ev.Type, ev.KV.Key, ev.KV.Value, ev.Revision, ev.KV.ModRevision, want.typ, want.key, want.value, want.rev)
	}
	if want.typ != storage.Added && want.prevRev >= 0 {
		if string(ev.Prev.Value) != want.prev || ev.Prev.ModRevision != want.prevRev {
			t.Fatalf("event %v %s prev = %q at %d, want %q at %d",
				ev.Type, ev.KV.Key, ev.Prev.Value, ev.Prev.ModRevision, want.prev, want.prevRev)
		}
	}
}

func testWatch(t *testing.T, s storage.Interface) {
	before, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r1 := mustCreate(t, s, key("a"), "a1")
	r2 := mustUpdate(t, s, key("a"), "a2", r1)
	r3 := mustCreate(t, s, key("b"), "b1")
	r4 := mustDelete(t, s, key("a"))
	want := []wantEvent{
		{storage.Added, key("a"), "a1", r1, "", 0},
		{storage.Modified, key("a"), "a2", r2, "a1", r1},
		{storage.Added, key("b"), "b1", r3, "", 0},
		{storage.Deleted, key("a"), "a2", r4, "a2", r2},
	}
	// From before everything: the whole history, in order.
	w := mustWatch(t, s, t.Context(), Prefix, before, false)
	for _, we := range want {
		checkEvent(t, nextEvent(t, w), we)
	}
	// From the middle: only later events.
	w = mustWatch(t, s, t.Context(), Prefix, r2, false)
	for _, we := range want[2:] {
		checkEvent(t, nextEvent(t, w), we)
	}
	// Live events follow the replayed ones.
	r5 := mustUpdate(t, s, key("b"), "b2", r3)
	checkEvent(t, nextEvent(t, w), wantEvent{storage.Modified, key("b"), "b2", r5, "b1", r3})

	// From the newest revision: nothing until the next write.
	w = mustWatch(t, s, t.Context(), Prefix, r5, false)
	r6 := mustCreate(t, s, key("c"), "c1")
	checkEvent(t, nextEvent(t, w), wantEvent{storage.Added, key("c"), "c1", r6, "", 0})
}

func testWatchFromNow(t *testing.T, s storage.Interface) {
	mustCreate(t, s, key("old"), "x")
	w := mustWatch(t, s, t.Context(), Prefix, 0, false)
	// A watch "from now" may start a little after the call returns in some
	// stores; write until the first event shows, then check no old key.
	deadline := time.Now().Add(waitTimeout)
	var rev int64
	for rev == 0 {
		if time.Now().After(deadline) {
			t.Fatal("watch from now saw nothing")
		}
		r := mustCreate(t, s, key("new-"+time.Now().Format("150405.000000000")), "y")
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("watch ended: %v", w.Err())
			}
			if ev.Type == storage.Progress {
				continue
			}
			if ev.KV.Key == key("old") {
				t.Fatal("watch from now replayed an old event")
			}
			rev = ev.Revision
			if rev > r {
				t.Fatalf("event at %d after last write %d", rev, r)
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func testWatchPrefixFilter(t *testing.T, s storage.Interface) {
	start, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ns := mustWatch(t, s, t.Context(), key("ns1/"), start, false)
	one := mustWatch(t, s, t.Context(), key("ns1/pod"), start, false)

	mustCreate(t, s, key("ns2/pod"), "x")
	mustCreate(t, s, key("ns1x/pod"), "x") // shares a string prefix with "ns1", not "ns1/"
	r1 := mustCreate(t, s, key("ns1/other"), "o")
	r2 := mustCreate(t, s, key("ns1/pod"), "p")
	mustCreate(t, s, OtherPrefix+"ns1/pod", "x")

	checkEvent(t, nextEvent(t, ns), wantEvent{storage.Added, key("ns1/other"), "o", r1, "", 0})
	checkEvent(t, nextEvent(t, ns), wantEvent{storage.Added, key("ns1/pod"), "p", r2, "", 0})
	// A single key is a prefix too: it also matches longer keys.
	checkEvent(t, nextEvent(t, one), wantEvent{storage.Added, key("ns1/pod"), "p", r2, "", 0})

	r3 := mustCreate(t, s, key("ns1/z"), "z")
	checkEvent(t, nextEvent(t, ns), wantEvent{storage.Added, key("ns1/z"), "z", r3, "", 0})
	expectQuiet(t, one, 100*time.Millisecond)
}

func testWatchStop(t *testing.T, s storage.Interface) {
	w, err := s.Watch(t.Context(), Prefix, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	w.Stop()
	if err := expectClosed(t, w); err != nil {
		t.Fatalf("stopped watch err = %v, want nil", err)
	}
	w.Stop() // idempotent
}

func testWatchContextCancel(t *testing.T, s storage.Interface) {
	ctx, cancel := context.WithCancel(t.Context())
	w := mustWatch(t, s, ctx, Prefix, 0, false)
	cancel()
	if err := expectClosed(t, w); err != nil {
		t.Fatalf("cancelled watch err = %v, want nil", err)
	}
}

func testWatchProgress(t *testing.T, s storage.Interface) {
	rev := mustCreate(t, s, key("a"), "a")
	// The newest write is elsewhere; progress must still reach it.
	other := mustCreate(t, s, OtherPrefix+"a", "a")
	w := mustWatch(t, s, t.Context(), Prefix, rev, true)
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("watch ended: %v", w.Err())
			}
			if ev.Type != storage.Progress {
				t.Fatalf("unexpected event %v %s", ev.Type, ev.KV.Key)
			}
			if ev.Revision < rev {
				t.Fatalf("progress at %d, before the watch start %d", ev.Revision, rev)
			}
			if ev.Revision >= other {
				return
			}
		case <-deadline:
			t.Fatal("no progress event reaching the newest revision in time")
		}
	}
}

func testWatchOtherPrefix(t *testing.T, s storage.Interface) {
	start, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w := mustWatch(t, s, t.Context(), OtherPrefix, start, false)
	r1 := mustCreate(t, s, OtherPrefix+"a", "a")
	mustCreate(t, s, key("a"), "a")
	r2 := mustUpdate(t, s, OtherPrefix+"a", "b", r1)
	checkEvent(t, nextEvent(t, w), wantEvent{storage.Added, OtherPrefix + "a", "a", r1, "", 0})
	checkEvent(t, nextEvent(t, w), wantEvent{storage.Modified, OtherPrefix + "a", "b", r2, "a", r1})
}

func testCompaction(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	r1 := mustCreate(t, s, key("a"), "a1")
	r2 := mustUpdate(t, s, key("a"), "a2", r1)
	r3 := mustUpdate(t, s, key("a"), "a3", r2)
	r4 := mustUpdate(t, s, key("a"), "a4", r3)
	if err := s.Compact(ctx, r3); err != nil {
		t.Fatal(err)
	}
	// Compacting again to the same or an older revision is fine.
	if err := s.Compact(ctx, r2); err != nil {
		t.Fatalf("compact to an older revision: %v", err)
	}

	_, err := s.List(ctx, Prefix, storage.ListOptions{Revision: r2})
	wantErr(t, "list at a compacted revision", err, storage.ErrCompacted)
	res, err := s.List(ctx, Prefix, storage.ListOptions{Revision: r3})
	if err != nil {
		t.Fatalf("list at the compaction revision: %v", err)
	}
	if len(res.Items) != 1 || string(res.Items[0].Value) != "a3" {
		t.Fatalf("list at %d = %+v", r3, res.Items)
	}

	// Watching from r1 needs the event at r2, which is gone.
	w, err := s.Watch(ctx, Prefix, r1, false)
	if err == nil {
		err = expectClosed(t, w)
	}
	wantErr(t, "watch from a compacted revision", err, storage.ErrCompacted)

	// Watching from r2 needs events from r3 on, which remain.
	w = mustWatch(t, s, ctx, Prefix, r2, false)
	// The previous value (at r2) may be compacted away: prevRev -1 skips it.
	checkEvent(t, nextEvent(t, w), wantEvent{storage.Modified, key("a"), "a3", r3, "", -1})
	checkEvent(t, nextEvent(t, w), wantEvent{storage.Modified, key("a"), "a4", r4, "a3", r3})
}

// testConcurrentUpdates runs read-modify-write loops that retry on
// conflict; every increment must land exactly once.
func testConcurrentUpdates(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	const workers, increments = 4, 10
	mustCreate(t, s, key("counter"), "0")
	errc := make(chan error, workers)
	for range workers {
		go func() {
			for range increments {
				for {
					kv, err := s.Get(ctx, key("counter"))
					if err != nil {
						errc <- err
						return
					}
					n := 0
					for _, c := range kv.Value {
						n = n*10 + int(c-'0')
					}
					_, err = s.Update(ctx, key("counter"), []byte(itoa(n+1)), kv.ModRevision)
					if errors.Is(err, storage.ErrConflict) {
						continue
					}
					if err != nil {
						errc <- err
						return
					}
					break
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
	kv, err := s.Get(ctx, key("counter"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(kv.Value), itoa(workers*increments); got != want {
		t.Fatalf("counter = %s, want %s", got, want)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// testWatchFutureRevision: a watch from a revision the store has not
// reached either fails with ErrFutureRevision or waits for it.
func testWatchFutureRevision(t *testing.T, s storage.Interface) {
	rev, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(t.Context(), Prefix, rev+2, false)
	if errors.Is(err, storage.ErrFutureRevision) {
		return
	}
	if err != nil {
		t.Fatalf("watch from a future revision: %v", err)
	}
	defer w.Stop()
	mustCreate(t, s, key("a"), "a")
	mustCreate(t, s, key("b"), "b")
	r3 := mustCreate(t, s, key("c"), "c")
	checkEvent(t, nextEvent(t, w), wantEvent{storage.Added, key("c"), "c", r3, "", 0})
}
