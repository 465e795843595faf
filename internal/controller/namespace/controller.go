package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Retry policy: content that is still going (pods in their grace period,
// objects waiting on finalizers) is looked at again after 100ms, doubling
// up to 5s, so that a namespace goes soon after its last object without
// polling an idle one.
const (
	retryBase     = 100 * time.Millisecond
	retryMax      = 5 * time.Second
	defaultWorker = 2
)

// errContentRemaining requeues a namespace whose content is not gone yet;
// it is progress, not a failure, and is not logged as one.
var errContentRemaining = errors.New("content remaining")

// Config configures a Controller.
type Config struct {
	Client     kubernetes.Interface
	Metadata   metadata.Interface
	Namespaces coreinformers.NamespaceInformer
	// Log receives the controller's logs (nil: discarded).
	Log *slog.Logger
	// Workers is the number of namespaces emptied at once (0: 2).
	Workers int
}

// Controller empties and releases namespaces being deleted.
type Controller struct {
	client    kubernetes.Interface
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	lister    corelisters.NamespaceLister
	synced    cache.InformerSynced
	log       *slog.Logger
	workers   int
	queue     workqueue.TypedRateLimitingInterface[string]
}

// New builds a namespace controller; the informer of cfg.Namespaces must
// be started by the caller (Run waits for it to sync).
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Metadata == nil || cfg.Namespaces == nil {
		return nil, errors.New("namespace controller: client, metadata client and namespace informer are required")
	}
	c := &Controller{
		client:    cfg.Client,
		metadata:  cfg.Metadata,
		discovery: cfg.Client.Discovery(),
		lister:    cfg.Namespaces.Lister(),
		synced:    cfg.Namespaces.Informer().HasSynced,
		log:       cfg.Log,
		workers:   cfg.Workers,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](retryBase, retryMax),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace"}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.workers <= 0 {
		c.workers = defaultWorker
	}
	if _, err := cfg.Namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.onChange,
		UpdateFunc: func(_, obj any) { c.onChange(obj) },
	}); err != nil {
		return nil, fmt.Errorf("namespace informer: %w", err)
	}
	return c, nil
}

func (c *Controller) onChange(obj any) {
	ns, ok := obj.(*corev1.Namespace)
	if ok && ns.DeletionTimestamp != nil {
		c.queue.Add(ns.Name)
	}
}

// Run processes namespaces until ctx ends and returns after its workers.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return nil // stopped before the informer listed
	}
	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	err := c.sync(ctx, name)
	switch {
	case err == nil || ctx.Err() != nil:
		c.queue.Forget(name)
	case errors.Is(err, errContentRemaining):
		c.queue.AddRateLimited(name)
	default:
		c.log.Info("retrying", "namespace", name, "err", err)
		c.queue.AddRateLimited(name)
	}
	return true
}

// sync empties namespace name if it is being deleted and releases it once
// empty. It is idempotent: each pass deletes what is left and looks again.
func (c *Controller) sync(ctx context.Context, name string) error {
	cached, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if cached.DeletionTimestamp == nil {
		return nil
	}
	// The cache may be behind a finalize another worker already did.
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		return nil
	}

	p := c.deleteContent(ctx, name)
	ns = ns.DeepCopy()
	if setConditions(&ns.Status, p, metav1.Now()) {
		updated, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, ns, metav1.UpdateOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("update namespace %s status: %w", name, err)
		}
		ns = updated
	}
	if !p.done() {
		if p.discoveryErr != nil || len(p.deleteErrs) > 0 {
			return fmt.Errorf("namespace %s: %w", name, errors.Join(append([]error{p.discoveryErr}, p.deleteErrs...)...))
		}
		return errContentRemaining
	}

	ns.Spec.Finalizers = slices.DeleteFunc(slices.Clone(ns.Spec.Finalizers), func(f corev1.FinalizerName) bool {
		return f == corev1.FinalizerKubernetes
	})
	_, err = c.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	c.log.Info("namespace emptied and finalized", "namespace", name)
	return nil
}
