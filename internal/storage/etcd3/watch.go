package etcd3

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-dev/skiff/internal/storage"
)

// watchBuffer is the number of converted events a watcher holds for a slow
// reader before it stops reading from etcd (etcd then buffers for it).
const watchBuffer = 100

// watcher adapts one etcd watch to storage.Watcher.
type watcher struct {
	events chan storage.Event
	cancel context.CancelFunc
	// progress carries RequestProgress calls to the run goroutine without
	// blocking; capacity 1 merges bursts.
	progress chan struct{}

	// mu guards err, set once by run just before it closes events.
	mu  sync.Mutex
	err error
	// done is closed when run returns.
	done     chan struct{}
	stopOnce sync.Once
}

// Watch streams changes under prefix after fromRevision.
func (s *Store) Watch(ctx context.Context, prefix string, fromRevision int64, progressNotify bool) (storage.Watcher, error) {
	if fromRevision < 0 {
		return nil, fmt.Errorf("watch %s: negative revision %d", prefix, fromRevision)
	}
	// RequireLeader makes the watch fail instead of hanging when the member
	// loses its leader; the metadata also names the gRPC stream that
	// RequestProgress must address.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	ops := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV()}
	if fromRevision > 0 {
		ops = append(ops, clientv3.WithRev(fromRevision+1))
	}
	if progressNotify {
		ops = append(ops, clientv3.WithProgressNotify())
	}
	ch := s.client.Watch(wctx, prefix, ops...)
	w := &watcher{
		events:   make(chan storage.Event, watchBuffer),
		cancel:   cancel,
		progress: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	go w.run(wctx, s.client, ch, progressNotify, s.progressInterval)
	return w, nil
}

func (w *watcher) run(ctx context.Context, client *clientv3.Client, ch clientv3.WatchChan, progressNotify bool, interval time.Duration) {
	var err error
	defer func() {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		close(w.events)
		close(w.done)
	}()

	// The idle timer asks etcd for a progress event when the stream has
	// been silent for an interval; without progressNotify it never fires.
	idle := time.NewTimer(interval)
	defer idle.Stop()
	var idleC <-chan time.Time
	if progressNotify {
		idleC = idle.C
	}

	for {
		select {
		case <-ctx.Done():
			return
		case <-w.progress:
			w.requestProgress(ctx, client)
		case <-idleC:
			w.requestProgress(ctx, client)
			idle.Reset(interval)
		case resp, ok := <-ch:
			if !ok {
				if ctx.Err() == nil {
					err = fmt.Errorf("watch: etcd closed the stream")
				}
				return
			}
			if werr := resp.Err(); werr != nil {
				if ctx.Err() == nil {
					err = fmt.Errorf("watch: %w", mapErr(werr))
				}
				return
			}
			if progressNotify {
				idle.Reset(interval)
			}
			if resp.IsProgressNotify() {
				// Also arrives for other watches' requests on the same
				// stream; only forward it when asked for.
				if progressNotify && !w.send(ctx, storage.Event{Type: storage.Progress, Revision: resp.Header.Revision}) {
					return
				}
				continue
			}
			for _, ev := range resp.Events {
				if !w.send(ctx, convert(ev)) {
					return
				}
			}
		}
	}
}

func (w *watcher) requestProgress(ctx context.Context, client *clientv3.Client) {
	// An error means the stream is going away; the event loop sees why.
	_ = client.RequestProgress(ctx)
}

func (w *watcher) send(ctx context.Context, ev storage.Event) bool {
	select {
	case w.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func convert(ev *clientv3.Event) storage.Event {
	out := storage.Event{Revision: ev.Kv.ModRevision}
	if ev.PrevKv != nil {
		out.Prev = toKV(ev.PrevKv)
	}
	switch {
	case ev.Type == clientv3.EventTypeDelete:
		out.Type = storage.Deleted
		// The deleted value is the previous one, stamped with the
		// deletion revision.
		out.KV = out.Prev
		out.KV.Key = string(ev.Kv.Key)
		out.KV.ModRevision = ev.Kv.ModRevision
	case ev.IsCreate():
		out.Type = storage.Added
		out.KV = toKV(ev.Kv)
	default:
		out.Type = storage.Modified
		out.KV = toKV(ev.Kv)
	}
	return out
}

func (w *watcher) Events() <-chan storage.Event { return w.events }

func (w *watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *watcher) Stop() {
	w.stopOnce.Do(w.cancel)
	<-w.done
}

// RequestProgress implements storage.ProgressRequester. The answer is
// forwarded only on watches opened with progressNotify.
func (w *watcher) RequestProgress() {
	select {
	case w.progress <- struct{}{}:
	default:
	}
}
