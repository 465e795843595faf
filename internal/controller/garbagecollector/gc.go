package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/workqueue"
)

// Defaults for Config.
const (
	defaultWorkers = 4
	// The served resources of skiff change only on upgrade; looking again
	// now and then still picks up anything new without a restart.
	defaultDiscoveryPeriod = 30 * time.Second
	// After this long, workers start even if some resource never listed:
	// every deletion is decided on live state, so an incomplete graph
	// delays collection but never causes a wrong one.
	syncTimeout = 30 * time.Second
	// Owners known to be gone; bounded memory, a miss costs one GET.
	absentCacheSize = 10000
)

// Config configures a GarbageCollector.
type Config struct {
	// REST is the client configuration of the API server.
	REST *rest.Config
	// Log receives the collector's logs (nil: discarded).
	Log *slog.Logger
	// Workers per queue (0: 4).
	Workers int
	// DiscoveryPeriod is how often served resources are rediscovered
	// (0: 30s).
	DiscoveryPeriod time.Duration
	// Ignored resources are not watched (nil: events of both groups, as
	// Kubernetes does: they never own anything and are many).
	Ignored []schema.GroupResource
}

// GarbageCollector deletes objects whose owners are gone and carries out
// the Orphan and Foreground deletion policies.
type GarbageCollector struct {
	log       *slog.Logger
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	workers   int
	period    time.Duration
	ignored   map[schema.GroupResource]bool

	graph   *graph
	absent  *absentCache
	deleteQ workqueue.TypedRateLimitingInterface[types.UID]
	orphanQ workqueue.TypedRateLimitingInterface[types.UID]
	factory metadatainformer.SharedInformerFactory

	mu       sync.Mutex
	monitors map[schema.GroupVersionResource]*monitor // guarded by mu
}

// New builds a garbage collector; Run starts it.
func New(cfg Config) (*GarbageCollector, error) {
	if cfg.REST == nil {
		return nil, errors.New("garbage collector: no REST config")
	}
	mc, err := metadata.NewForConfig(cfg.REST)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg.REST)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gc := &GarbageCollector{
		log:       log,
		metadata:  mc,
		discovery: dc,
		mapper:    restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		workers:   cfg.Workers,
		period:    cfg.DiscoveryPeriod,
		ignored:   map[schema.GroupResource]bool{},
		graph:     newGraph(),
		absent:    newAbsentCache(absentCacheSize),
		deleteQ: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_delete"}),
		orphanQ: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_orphan"}),
		factory:  metadatainformer.NewSharedInformerFactory(mc, 0),
		monitors: map[schema.GroupVersionResource]*monitor{},
	}
	if gc.workers <= 0 {
		gc.workers = defaultWorkers
	}
	if gc.period <= 0 {
		gc.period = defaultDiscoveryPeriod
	}
	ignored := cfg.Ignored
	if ignored == nil {
		ignored = []schema.GroupResource{{Group: "", Resource: "events"}, {Group: "events.k8s.io", Resource: "events"}}
	}
	for _, gr := range ignored {
		gc.ignored[gr] = true
	}
	return gc, nil
}

// Run watches every deletable resource and collects garbage until ctx
// ends; it returns after all its goroutines have.
func (gc *GarbageCollector) Run(ctx context.Context) error {
	defer gc.factory.Shutdown()
	defer gc.deleteQ.ShutDown()
	defer gc.orphanQ.ShutDown()

	if err := gc.startMonitors(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped before it started
		}
		return err
	}
	gc.waitForSync(ctx)
	gc.log.Info("garbage collector started", "resources", gc.monitorCount())

	var wg sync.WaitGroup
	for range gc.workers {
		wg.Go(func() { gc.runWorker(ctx, gc.deleteQ, gc.attemptToDelete) })
		wg.Go(func() { gc.runWorker(ctx, gc.orphanQ, gc.attemptToOrphan) })
	}
	wg.Go(func() { gc.rediscover(ctx) })
	<-ctx.Done()
	gc.deleteQ.ShutDown()
	gc.orphanQ.ShutDown()
	wg.Wait()
	return nil
}

// runWorker processes items until the queue shuts down: success forgets
// the item's failures, an error requeues it with rate-limited backoff.
func (gc *GarbageCollector) runWorker(ctx context.Context, q workqueue.TypedRateLimitingInterface[types.UID], sync func(context.Context, types.UID) error) {
	for {
		uid, quit := q.Get()
		if quit {
			return
		}
		err := sync(ctx, uid)
		switch {
		case err == nil:
			q.Forget(uid)
		case ctx.Err() != nil:
			q.Forget(uid)
		default:
			level := slog.LevelInfo
			if apierrors.IsConflict(err) {
				level = slog.LevelDebug
			}
			gc.log.Log(ctx, level, "retrying", "uid", uid, "err", err)
			q.AddRateLimited(uid)
		}
		q.Done(uid)
	}
}

// enqueue hands the work a graph change caused to the queues.
func (gc *GarbageCollector) enqueue(w work) {
	for _, uid := range w.attemptToDelete {
		gc.deleteQ.Add(uid)
	}
	for _, uid := range w.attemptToOrphan {
		gc.orphanQ.Add(uid)
	}
}
