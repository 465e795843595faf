package cacher_test

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/skiff-dev/skiff/internal/storage"
)

// spyStore counts the reads that reach the real store and can cut its
// watches, to see what the cacher serves itself and how it recovers.
type spyStore struct {
	storage.Interface
	lists   atomic.Int64
	watches atomic.Int64

	mu   sync.Mutex
	live map[*cutWatcher]struct{}
}

func newSpy(s storage.Interface) *spyStore {
	return &spyStore{Interface: s, live: map[*cutWatcher]struct{}{}}
}

func (s *spyStore) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	s.lists.Add(1)
	return s.Interface.List(ctx, prefix, opts)
}

func (s *spyStore) Watch(ctx context.Context, prefix string, from int64, progress bool) (storage.Watcher, error) {
	s.watches.Add(1)
	inner, err := s.Interface.Watch(ctx, prefix, from, progress)
	if err != nil {
		return nil, err
	}
	w := &cutWatcher{inner: inner, out: make(chan storage.Event), cut: make(chan error, 1), done: make(chan struct{})}
	s.mu.Lock()
	s.live[w] = struct{}{}
	s.mu.Unlock()
	go func() {
		w.run()
		s.mu.Lock()
		delete(s.live, w)
		s.mu.Unlock()
	}()
	return w, nil
}

// cutAll ends every open store watch with err.
func (s *spyStore) cutAll(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.live {
		select {
		case w.cut <- err:
		default:
		}
	}
}

type cutWatcher struct {
	inner storage.Watcher
	out   chan storage.Event
	cut   chan error
	done  chan struct{}
	mu    sync.Mutex
	err   error
}

func (w *cutWatcher) run() {
	defer close(w.done)
	defer close(w.out)
	defer w.inner.Stop()
	for {
		select {
		case err := <-w.cut:
			w.setErr(err)
			return
		case ev, ok := <-w.inner.Events():
			if !ok {
				w.setErr(w.inner.Err())
				return
			}
			select {
			case w.out <- ev:
			case err := <-w.cut:
				w.setErr(err)
				return
			}
		}
	}
}

func (w *cutWatcher) setErr(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
}

func (w *cutWatcher) Events() <-chan storage.Event { return w.out }

func (w *cutWatcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *cutWatcher) Stop() {
	select {
	case w.cut <- nil:
	default:
	}
	<-w.done
}

func (w *cutWatcher) RequestProgress() {
	if pr, ok := w.inner.(storage.ProgressRequester); ok {
		pr.RequestProgress()
	}
}
