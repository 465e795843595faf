package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/storage"
)

// Prefix is where the suite keeps its keys; caching stores should cache it.
const Prefix = "/registry/things/"

// OtherPrefix holds keys a caching store is expected not to cache.
const OtherPrefix = "/registry/uncached/"

// waitTimeout bounds every wait for an event; generous because the race
// detector and a shared machine slow things down.
const waitTimeout = 15 * time.Second

// RunTests runs the storage contract against stores made by newStore,
// one fresh store per subtest.
func RunTests(t *testing.T, newStore func(t *testing.T) storage.Interface) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Interface)
	}{
		{"CreateGet", testCreateGet},
		{"Update", testUpdate},
		{"Delete", testDelete},
		{"CurrentRevision", testCurrentRevision},
		{"List", testList},
		{"ListAtRevision", testListAtRevision},
		{"ListFutureRevision", testListFutureRevision},
		{"ListPaging", testListPaging},
		{"ListOtherPrefix", testListOtherPrefix},
		{"Watch", testWatch},
		{"WatchFromNow", testWatchFromNow},
		{"WatchPrefixFilter", testWatchPrefixFilter},
		{"WatchStop", testWatchStop},
		{"WatchContextCancel", testWatchContextCancel},
		{"WatchProgress", testWatchProgress},
		{"WatchOtherPrefix", testWatchOtherPrefix},
		{"WatchFutureRevision", testWatchFutureRevision},
		{"Compaction", testCompaction},
		{"ConcurrentUpdates", testConcurrentUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func key(name string) string { return Prefix + name }

func mustCreate(t *testing.T, s storage.Interface, k, v string) int64 {
	t.Helper()
	rev, err := s.Create(t.Context(), k, []byte(v))
	if err != nil {
		t.Fatalf("create %s: %v", k, err)
	}
	return rev
}

func mustUpdate(t *testing.T, s storage.Interface, k, v string, expected int64) int64 {
	t.Helper()
	rev, err := s.Update(t.Context(), k, []byte(v), expected)
	if err != nil {
		t.Fatalf("update %s: %v", k, err)
	}
	return rev
}

func mustDelete(t *testing.T, s storage.Interface, k string) int64 {
	t.Helper()
	_, rev, err := s.Delete(t.Context(), k, 0)
	if err != nil {
		t.Fatalf("delete %s: %v", k, err)
	}
	return rev
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func testCreateGet(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	rev := mustCreate(t, s, key("a"), "one")
	if rev <= 0 {
		t.Fatalf("create returned revision %d", rev)
	}
	kv, err := s.Get(ctx, key("a"))
	if err != nil {
		t.Fatal(err)
	}
	if kv.Key != key("a") || string(kv.Value) != "one" || kv.ModRevision != rev {
		t.Fatalf("get = %+v, want one at %d", kv, rev)
	}
	_, err = s.Create(ctx, key("a"), []byte("two"))
	wantErr(t, "create existing", err, storage.ErrExists)
	_, err = s.Get(ctx, key("missing"))
	wantErr(t, "get missing", err, storage.ErrNotFound)
	// A failed create changes nothing.
	if kv, _ := s.Get(ctx, key("a")); string(kv.Value) != "one" || kv.ModRevision != rev {
		t.Fatalf("after failed create: %+v", kv)
	}
	// Create after delete works again.
	mustDelete(t, s, key("a"))
	if rev2 := mustCreate(t, s, key("a"), "three"); rev2 <= rev {
		t.Fatalf("recreate revision %d not after %d", rev2, rev)
	}
}

func testUpdate(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	rev1 := mustCreate(t, s, key("a"), "v1")
	rev2 := mustUpdate(t, s, key("a"), "v2", rev1)
	if rev2 <= rev1 {
		t.Fatalf("update revision %d not after %d", rev2, rev1)
	}
	_, err := s.Update(ctx, key("a"), []byte("stale"), rev1)
	wantErr(t, "update with stale revision", err, storage.ErrConflict)
	rev3 := mustUpdate(t, s, key("a"), "v3", 0)
	kv, err := s.Get(ctx, key("a"))
	if err != nil {
		t.Fatal(err)
	}
	if string(kv.Value) != "v3" || kv.ModRevision != rev3 {
		t.Fatalf("get = %+v, want v3 at %d", kv, rev3)
	}
	_, err = s.Update(ctx, key("missing"), []byte("x"), 0)
	wantErr(t, "unconditional update of missing key", err, storage.ErrNotFound)
	_, err = s.Update(ctx, key("missing"), []byte("x"), rev3)
	wantErr(t, "conditional update of missing key", err, storage.ErrNotFound)
	if _, err := s.Get(ctx, key("missing")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("update created a key: %v", err)
	}
}

func testDelete(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	rev1 := mustCreate(t, s, key("a"), "v1")
	rev2 := mustUpdate(t, s, key("a"), "v2", rev1)
	_, _, err := s.Delete(ctx, key("a"), rev1)
	wantErr(t, "delete with stale revision", err, storage.ErrConflict)
	kv, delRev, err := s.Delete(ctx, key("a"), rev2)
	if err != nil {
		t.Fatal(err)
	}
	if kv.Key != key("a") || string(kv.Value) != "v2" || kv.ModRevision != rev2 {
		t.Fatalf("deleted kv = %+v, want v2 at %d", kv, rev2)
	}
	if delRev <= rev2 {
		t.Fatalf("deletion revision %d not after %d", delRev, rev2)
	}
	_, err = s.Get(ctx, key("a"))
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	_, _, err = s.Delete(ctx, key("a"), 0)
	wantErr(t, "delete missing", err, storage.ErrNotFound)
	_, _, err = s.Delete(ctx, key("a"), rev2)
	wantErr(t, "conditional delete of missing", err, storage.ErrNotFound)

	// Unconditional delete.
	mustCreate(t, s, key("b"), "b")
	kv, _, err = s.Delete(ctx, key("b"), 0)
	if err != nil || string(kv.Value) != "b" {
		t.Fatalf("delete b = %+v, %v", kv, err)
	}
}

func testCurrentRevision(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	before, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rev := mustCreate(t, s, key("a"), "v")
	if rev <= before {
		t.Fatalf("create at %d, current revision before was %d", rev, before)
	}
	after, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != rev {
		t.Fatalf("current revision %d, last write at %d", after, rev)
	}
	// Writes outside any cached prefix move the revision too.
	rev = mustCreate(t, s, OtherPrefix+"x", "v")
	if after, _ = s.CurrentRevision(ctx); after != rev {
		t.Fatalf("current revision %d, last write at %d", after, rev)
	}
}

func keysOf(items []storage.KV) []string {
	out := make([]string, len(items))
	for i, kv := range items {
		out[i] = kv.Key
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testList(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	// Created out of order; "ab/" shares a string prefix with "a/".
	mustCreate(t, s, key("a/2"), "a2")
	mustCreate(t, s, key("ab/1"), "ab1")
	mustCreate(t, s, key("a/1"), "a1")
	last := mustCreate(t, s, key("a/3"), "a3")

	res, err := s.List(ctx, key("a/"), storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{key("a/1"), key("a/2"), key("a/3")}
	if got := keysOf(res.Items); !equalStrings(got, want) {
		t.Fatalf("list a/ = %v, want %v", got, want)
	}
	if res.Revision != last {
		t.Fatalf("list revision %d, want %d", res.Revision, last)
	}
	if res.More || res.NextKey != "" {
		t.Fatalf("unlimited list says more: %+v", res)
	}
	values := map[string]string{key("a/1"): "a1", key("a/2"): "a2", key("a/3"): "a3"}
	for _, kv := range res.Items {
		if string(kv.Value) != values[kv.Key] {
			t.Fatalf("item %s has value %q", kv.Key, kv.Value)
		}
		if kv.ModRevision <= 0 {
			t.Fatalf("item %s has revision %d", kv.Key, kv.ModRevision)
		}
	}

	res, err = s.List(ctx, Prefix, storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 4 {
		t.Fatalf("list all = %v", keysOf(res.Items))
	}
	res, err = s.List(ctx, key("none/"), storage.ListOptions{})
	if err != nil || len(res.Items) != 0 || res.More {
		t.Fatalf("list empty prefix = %+v, %v", res, err)
	}
	if res.Revision < last {
		t.Fatalf("empty list at revision %d, before last write %d", res.Revision, last)
	}

	// NotOlderThan an old revision answers with a state at least that new.
	res, err = s.List(ctx, key("a/"), storage.ListOptions{Revision: last - 1, NotOlderThan: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision < last-1 || len(res.Items) < 2 {
		t.Fatalf("not-older-than list = rev %d, %v", res.Revision, keysOf(res.Items))
	}
}

func testListAtRevision(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	rev1 := mustCreate(t, s, key("a"), "a1")
	mustCreate(t, s, key("b"), "b1")
	rev3 := mustUpdate(t, s, key("a"), "a2", rev1)
	mustDelete(t, s, key("b"))

	res, err := s.List(ctx, Prefix, storage.ListOptions{Revision: rev3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision != rev3 {
		t.Fatalf("list at %d says revision %d", rev3, res.Revision)
	}
	if got := keysOf(res.Items); !equalStrings(got, []string{key("a"), key("b")}) {
		t.Fatalf("list at %d = %v", rev3, got)
	}
	if string(res.Items[0].Value) != "a2" || res.Items[0].ModRevision != rev3 {
		t.Fatalf("a at %d = %+v", rev3, res.Items[0])
	}
	res, err = s.List(ctx, Prefix, storage.ListOptions{Revision: rev1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || string(res.Items[0].Value) != "a1" {
		t.Fatalf("list at %d = %+v", rev1, res.Items)
	}
	res, err = s.List(ctx, Prefix, storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(res.Items); !equalStrings(got, []string{key("a")}) {
		t.Fatalf("list now = %v", got)
	}
}

func testListFutureRevision(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	rev := mustCreate(t, s, key("a"), "a")
	_, err := s.List(ctx, Prefix, storage.ListOptions{Revision: rev + 100})
	wantErr(t, "list at a future revision", err, storage.ErrFutureRevision)
	_, err = s.List(ctx, Prefix, storage.ListOptions{Revision: rev + 100, NotOlderThan: true})
	wantErr(t, "list not older than a future revision", err, storage.ErrFutureRevision)
}

func testListPaging(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	var all []string
	for i := range 7 {
		k := key(fmt.Sprintf("item-%02d", i))
		mustCreate(t, s, k, "v")
		all = append(all, k)
	}
	first, err := s.List(ctx, Prefix, storage.ListOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !first.More || len(first.Items) != 3 || first.NextKey == "" {
		t.Fatalf("first page = %+v", first)
	}
	if first.RemainingCount != -1 && first.RemainingCount != 4 {
		t.Fatalf("first page remaining %d, want 4", first.RemainingCount)
	}
	// Changes after the first page must not show in later pages read at the
	// first page's revision.
	mustDelete(t, s, all[4])
	mustCreate(t, s, key("item-03a"), "v")

	got := keysOf(first.Items)
	next := first.NextKey
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		page, err := s.List(ctx, Prefix, storage.ListOptions{Revision: first.Revision, Limit: 3, StartKey: next})
		if err != nil {
			t.Fatal(err)
		}
		if page.Revision != first.Revision {
			t.Fatalf("page at %d, first at %d", page.Revision, first.Revision)
		}
		got = append(got, keysOf(page.Items)...)
		if page.More != (page.NextKey != "") {
			t.Fatalf("page More=%v NextKey=%q", page.More, page.NextKey)
		}
		next = page.NextKey
	}
	if !equalStrings(got, all) {
		t.Fatalf("pages = %v, want %v", got, all)
	}

	// A limit covering everything leaves nothing more.
	res, err := s.List(ctx, Prefix, storage.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.More || len(res.Items) != 7 {
		t.Fatalf("big page = %d items, more %v", len(res.Items), res.More)
	}
	// An exact limit: everything fits, nothing more.
	res, err = s.List(ctx, Prefix, storage.ListOptions{Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res.More || len(res.Items) != 7 {
		t.Fatalf("exact page = %d items, more %v", len(res.Items), res.More)
	}
	// Consistent paging from memory (no exact revision).
	res, err = s.List(ctx, Prefix, storage.ListOptions{Limit: 2, StartKey: key("item-03")})
	if err != nil {
		t.Fatal(err)
	}
	if g := keysOf(res.Items); !equalStrings(g, []string{key("item-03"), key("item-03a")}) || !res.More {
		t.Fatalf("page from item-03 = %v more %v", g, res.More)
	}
}

func testListOtherPrefix(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	mustCreate(t, s, OtherPrefix+"b", "b")
	rev := mustCreate(t, s, OtherPrefix+"a", "a")
	res, err := s.List(ctx, OtherPrefix, storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g := keysOf(res.Items); !equalStrings(g, []string{OtherPrefix + "a", OtherPrefix + "b"}) || res.Revision != rev {
		t.Fatalf("list other = %v at %d", g, res.Revision)
	}
	kv, err := s.Get(ctx, OtherPrefix+"a")
	if err != nil || string(kv.Value) != "a" {
		t.Fatalf("get other = %+v, %v", kv, err)
	}
}
