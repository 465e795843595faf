package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff-dev/skiff/internal/storage"
)

// InitialEventsAnnotation marks the bookmark that ends the initial events
// of a sendInitialEvents watch (metav1.InitialEventsAnnotationKey).
const InitialEventsAnnotation = metav1.InitialEventsAnnotationKey

// Watch streams the changes of namespace ns ("" = all) that match opts,
// with Kubernetes' resourceVersion semantics:
//   - "" or "0": synthetic ADDED events for the current objects, then changes;
//   - sendInitialEvents=true: the same, ended by a BOOKMARK annotated
//     k8s.io/initial-events-end (resourceVersionMatch must be NotOlderThan);
//   - N: every change after revision N (410 Gone when N is compacted).
//
// Objects in the events may be shared with the watch cache; do not mutate.
func (s *Store) Watch(ctx context.Context, ns string, opts *metav1.ListOptions) (watch.Interface, error) {
	pred, err := s.Predicate(opts)
	if err != nil {
		return nil, err
	}
	rev, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	initial := opts.ResourceVersion == "" || opts.ResourceVersion == "0"
	sendInitial := opts.SendInitialEvents != nil && *opts.SendInitialEvents
	if opts.SendInitialEvents != nil {
		if opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
			return nil, badRequest("sendInitialEvents", "resourceVersionMatch must be NotOlderThan when sendInitialEvents is set")
		}
		if !opts.AllowWatchBookmarks {
			return nil, badRequest("allowWatchBookmarks", "allowWatchBookmarks must be true when sendInitialEvents is set")
		}
		initial = sendInitial
	} else if opts.ResourceVersionMatch != "" {
		return nil, badRequest("resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")
	}

	prefix := s.listPrefix(ns)
	// A watch of one name (kubectl get NAME -w) narrows to its key.
	if name, ok := pred.Field.RequiresExactMatch("metadata.name"); ok && (ns != "" || !s.Kind.Namespaced) {
		prefix = s.key(ns, name)
	}

	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{result: make(chan watch.Event, 100), cancel: cancel, done: make(chan struct{})}

	var initialItems []runtime.Object
	if initial {
		lo := &metav1.ListOptions{LabelSelector: opts.LabelSelector, FieldSelector: opts.FieldSelector}
		if rev > 0 {
			lo.ResourceVersion = opts.ResourceVersion
			lo.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
		}
		res, err := s.List(ctx, ns, lo)
		if err != nil {
			cancel()
			return nil, err
		}
		initialItems = res.Items
		rev, _ = parseRV(res.ResourceVersion)
	}
	sw, err := s.storage.Watch(ctx, prefix, rev, opts.AllowWatchBookmarks)
	if err != nil {
		cancel()
		return nil, s.storageError(err, "")
	}
	go w.run(ctx, s, sw, pred, prefix, initialItems, sendInitial, rev, opts.AllowWatchBookmarks)
	return w, nil
}

func badRequest(field, msg string) error {
	return apierrors.NewBadRequest(fmt.Sprintf("%s: %s", field, msg))
}

type watcher struct {
	result chan watch.Event
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

// Stop ends the watch; it returns after the stream's goroutine has ended.
func (w *watcher) Stop() {
	w.once.Do(w.cancel)
	<-w.done
}

func (w *watcher) run(ctx context.Context, s *Store, sw storage.Watcher, pred Predicate, prefix string, initial []runtime.Object, sendInitial bool, rev int64, bookmarks bool) {
	defer close(w.done)
	defer close(w.result)
	defer sw.Stop()
	send := func(ev watch.Event) bool {
		select {
		case w.result <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, obj := range initial {
		if !send(watch.Event{Type: watch.Added, Object: obj}) {
			return
		}
	}
	if sendInitial {
		if !send(watch.Event{Type: watch.Bookmark, Object: s.bookmark(rev, true)}) {
			return
		}
	}
	for {
		var ev storage.Event
		var ok bool
		select {
		case ev, ok = <-sw.Events():
		case <-ctx.Done():
			return
		}
		if !ok {
			if err := sw.Err(); err != nil && !errors.Is(err, context.Canceled) {
				st := apierrors.NewInternalError(err).Status()
				if errors.Is(err, storage.ErrCompacted) {
					st = apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d", rev)).Status()
				}
				send(watch.Event{Type: watch.Error, Object: &st})
			}
			return
		}
		if ev.Type == storage.Progress {
			rev = ev.Revision
			if bookmarks && !send(watch.Event{Type: watch.Bookmark, Object: s.bookmark(rev, false)}) {
				return
			}
			continue
		}
		if !strings.HasPrefix(ev.KV.Key, prefix) {
			continue
		}
		rev = ev.Revision
		out, ok := s.translate(ev, pred)
		if !ok {
			continue
		}
		if !send(out) {
			return
		}
	}
}

// translate turns a storage event into the watch event a client with
// predicate pred sees: an object entering the selection is ADDED, one
// leaving it is DELETED.
func (s *Store) translate(ev storage.Event, pred Predicate) (watch.Event, bool) {
	decode := func(kv storage.KV) runtime.Object {
		if len(kv.Value) == 0 && kv.Object == nil {
			return nil
		}
		obj, err := s.sharedFromKV(kv)
		if err != nil {
			return nil
		}
		return obj
	}
	cur := decode(ev.KV)
	var prev runtime.Object
	if ev.Type != storage.Added {
		prev = decode(ev.Prev)
	}
	switch ev.Type {
	case storage.Added:
		if cur != nil && s.Matches(pred, cur) {
			return watch.Event{Type: watch.Added, Object: cur}, true
		}
	case storage.Modified:
		curOK := cur != nil && s.Matches(pred, cur)
		prevOK := prev != nil && s.Matches(pred, prev)
		switch {
		case curOK && prevOK, curOK && prev == nil:
			return watch.Event{Type: watch.Modified, Object: cur}, true
		case curOK:
			return watch.Event{Type: watch.Added, Object: cur}, true
		case prevOK:
			return watch.Event{Type: watch.Deleted, Object: withRV(cur, ev.Revision)}, true
		}
	case storage.Deleted:
		last := prev
		if last == nil {
			last = cur
		}
		if last != nil && s.Matches(pred, last) {
			return watch.Event{Type: watch.Deleted, Object: withRV(last, ev.Revision)}, true
		}
	}
	return watch.Event{}, false
}

// withRV returns a copy of obj at revision rev (the deletion revision of a
// DELETED event), leaving the possibly shared original alone.
func withRV(obj runtime.Object, rev int64) runtime.Object {
	if a, err := meta.Accessor(obj); err == nil && a.GetResourceVersion() == fmt.Sprint(rev) {
		return obj
	}
	obj = obj.DeepCopyObject()
	setRV(obj, rev)
	return obj
}

// bookmark is the object of a BOOKMARK event: an empty object of the kind
// carrying only the resourceVersion (and the initial-events-end marker).
func (s *Store) bookmark(rev int64, initialEnd bool) runtime.Object {
	obj := s.New()
	obj.GetObjectKind().SetGroupVersionKind(s.Kind.GVK)
	if a, err := meta.Accessor(obj); err == nil {
		a.SetResourceVersion(fmt.Sprint(rev))
		if initialEnd {
			a.SetAnnotations(map[string]string{InitialEventsAnnotation: "true"})
		}
	}
	return obj
}
