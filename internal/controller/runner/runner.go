// Package runner is the work loop every skiff controller shares, in the
// shape of sample-controller and kube-controller-manager: wait for the
// informer caches, run N workers that take keys from a rate-limited queue
// and sync them, Forget a key on success and requeue it with backoff on
// failure (level-based: the next sync reads the world afresh).
//
// It imports only client-go and the standard library.
package runner

import (
	"context"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// Loop runs a controller's workers.
type Loop struct {
	// Name is the kind of the keys ("deployment"), for logs.
	Name   string
	Queue  workqueue.TypedRateLimitingInterface[string]
	Synced []cache.InformerSynced
	// Sync reconciles one namespace/name key.
	Sync func(ctx context.Context, key string) error
	Log  *slog.Logger
	// MaxRetries, when positive, drops a key after that many failed syncs
	// in a row (the next change to the object enqueues it again); zero
	// retries for ever, with the queue's backoff.
	MaxRetries int
}

// Run waits for the caches, runs workers until ctx ends, and returns after
// every goroutine it started has ended. It shuts the queue down.
func (l *Loop) Run(ctx context.Context, workers int) error {
	defer l.Queue.ShutDown()
	l.Log.Info("starting")
	if !cache.WaitForCacheSync(ctx.Done(), l.Synced...) {
		return nil // ctx ended first
	}
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for l.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	l.Queue.ShutDown()
	wg.Wait()
	l.Log.Info("stopped")
	return nil
}

func (l *Loop) processNext(ctx context.Context) bool {
	key, quit := l.Queue.Get()
	if quit {
		return false
	}
	defer l.Queue.Done(key)
	err := l.Sync(ctx, key)
	switch {
	case err == nil:
		l.Queue.Forget(key)
	case l.MaxRetries > 0 && l.Queue.NumRequeues(key) >= l.MaxRetries:
		l.Log.Warn("dropping key after retries", l.Name, key, "err", err)
		l.Queue.Forget(key)
	default:
		if ctx.Err() == nil {
			l.Log.Debug("sync failed, requeued", l.Name, key, "err", err)
		}
		l.Queue.AddRateLimited(key)
	}
	return true
}

// Enqueue adds the namespace/name key of an informer object (or of a
// deleted object's tombstone) to q.
func Enqueue(q workqueue.TypedInterface[string], obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	q.Add(key)
}

// StartRecorder returns an event recorder writing core/v1 events to the
// API as component, and the function that stops it.
func StartRecorder(ctx context.Context, client kubernetes.Interface, component string) (record.EventRecorder, func()) {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component}), b.Shutdown
}
