package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"github.com/skiff-dev/skiff/internal/controller/runner"
	"log/slog"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Controller is the EndpointSlice controller for services with selectors.
type Controller struct {
	client      kubernetes.Interface
	log         *slog.Logger
	svcLister   corelisters.ServiceLister
	podLister   corelisters.PodLister
	sliceLister discoverylisters.EndpointSliceLister
	synced      []cache.InformerSynced
	queue       workqueue.TypedRateLimitingInterface[string]
	tracker     *tracker
	maxPerSlice int
}

// Options tune a Controller. The zero value is Kubernetes' behaviour.
type Options struct {
	// MaxEndpointsPerSlice (0: 100).
	MaxEndpointsPerSlice int
}

// New builds the EndpointSlice controller over the given informers
// (started by the caller).
func New(client kubernetes.Interface, services coreinformers.ServiceInformer, pods coreinformers.PodInformer, slices discoveryinformers.EndpointSliceInformer, logger *slog.Logger, opts Options) (*Controller, error) {
	if client == nil || services == nil || pods == nil || slices == nil {
		return nil, errors.New("endpointslice: client and informers are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Controller{
		client:      client,
		log:         logger,
		svcLister:   services.Lister(),
		podLister:   pods.Lister(),
		sliceLister: slices.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpointslice"}),
		tracker:     newTracker(),
		maxPerSlice: opts.MaxEndpointsPerSlice,
	}
	if c.maxPerSlice <= 0 {
		c.maxPerSlice = maxEndpointsPerSlice
	}
	svcReg, err := services.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, cur any) { c.enqueue(cur) },
		DeleteFunc: c.enqueue,
	})
	if err != nil {
		return nil, fmt.Errorf("service informer: %w", err)
	}
	podReg, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.podChanged(nil, obj) },
		UpdateFunc: c.podChanged,
		DeleteFunc: func(obj any) { c.podChanged(nil, obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	sliceReg, err := slices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.sliceChanged,
		UpdateFunc: func(_, cur any) { c.sliceChanged(cur) },
		DeleteFunc: c.sliceChanged,
	})
	if err != nil {
		return nil, fmt.Errorf("endpointslice informer: %w", err)
	}
	c.synced = []cache.InformerSynced{svcReg.HasSynced, podReg.HasSynced, sliceReg.HasSynced}
	return c, nil
}

// Run waits for the caches, runs workers until ctx ends and returns after
// every goroutine it started has ended.
func (c *Controller) Run(ctx context.Context, workers int) error {
	return runQueue(ctx, c.log, c.queue, c.synced, workers, c.sync)
}

func (c *Controller) enqueue(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

// sliceChanged requeues the service of a slice this controller manages,
// so that slices changed or deleted by others are put back.
func (c *Controller) sliceChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*discovery.EndpointSlice)
	if !ok || s.Labels[discovery.LabelManagedBy] != managedByController || s.Labels[discovery.LabelServiceName] == "" {
		return
	}
	c.queue.Add(s.Namespace + "/" + s.Labels[discovery.LabelServiceName])
}

// podChanged requeues every service whose selector matches the pod before
// or after the change.
func (c *Controller) podChanged(old, cur any) {
	var pods []*corev1.Pod
	for _, obj := range []any{old, cur} {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if p, ok := obj.(*corev1.Pod); ok {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		return
	}
	svcs, err := c.svcLister.Services(pods[0].Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, svc := range svcs {
		if svc.Spec.Selector == nil {
			continue
		}
		sel := labels.SelectorFromValidatedSet(svc.Spec.Selector)
		for _, p := range pods {
			if sel.Matches(labels.Set(p.Labels)) {
				c.queue.Add(svc.Namespace + "/" + svc.Name)
				break
			}
		}
	}
}

// sync makes the slices of one service (key "ns/name") match its pods.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	if c.tracker.stale(key, ns, c.sliceLister) {
		return errStaleCache
	}
	existing, err := c.sliceLister.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{
		discovery.LabelServiceName: name, discovery.LabelManagedBy: managedByController,
	}))
	if err != nil {
		return err
	}
	svc, err := c.svcLister.Services(ns).Get(name)
	if apierrors.IsNotFound(err) || (err == nil && (svc.Spec.Selector == nil || svc.Spec.Type == corev1.ServiceTypeExternalName)) {
		// The garbage collector would delete the slices of a deleted
		// service too; a service that lost its selector keeps nothing of
		// ours either (hand-made Endpoints are mirrored instead), nor does
		// an ExternalName service (as upstream, kubernetes#105986).
		if len(existing) == 0 {
			c.tracker.forget(key)
			return nil
		}
		return apply(ctx, c.client, c.tracker, key, plan{Delete: existing})
	}
	if err != nil {
		return err
	}
	pods, err := c.podLister.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	p := reconcile(existing, desiredFromPods(svc, pods), serviceSliceMeta(svc, time.Now()), c.maxPerSlice)
	if p.empty() {
		return nil
	}
	c.log.Debug("writing endpointslices", "service", key, "create", len(p.Create), "update", len(p.Update), "delete", len(p.Delete))
	return apply(ctx, c.client, c.tracker, key, p)
}

// serviceSliceMeta is the metadata of a service's slices: its labels (less
// the two this controller owns), the service name, managed-by, and the
// headless marker.
func serviceSliceMeta(svc *corev1.Service, now time.Time) sliceMeta {
	l := maps.Clone(svc.Labels)
	if l == nil {
		l = map[string]string{}
	}
	delete(l, corev1.IsHeadlessService)
	l[discovery.LabelServiceName] = svc.Name
	l[discovery.LabelManagedBy] = managedByController
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		l[corev1.IsHeadlessService] = ""
	}
	return sliceMeta{
		Namespace:   svc.Namespace,
		Prefix:      slicePrefix(svc.Name),
		Labels:      l,
		Placeholder: true,
		Annotations: map[string]string{corev1.EndpointsLastChangeTriggerTime: now.UTC().Format(time.RFC3339Nano)},
		Owner: metav1.OwnerReference{
			APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID,
			Controller: ptr(true), BlockOwnerDeletion: ptr(true),
		},
	}
}

// slicePrefix is "<name>-", or "slice-" when that would make names too
// long (upstream's rule).
func slicePrefix(name string) string {
	if len(name)+1 > 253-5 {
		return "slice-"
	}
	return name + "-"
}

// runQueue is the shared work loop of both controllers.
func runQueue(ctx context.Context, log *slog.Logger, q workqueue.TypedRateLimitingInterface[string], synced []cache.InformerSynced, workers int, syncFn func(context.Context, string) error) error {
	loop := &runner.Loop{Name: "service", Queue: q, Synced: synced, Sync: syncFn, Log: log}
	return loop.Run(ctx, workers)
}
