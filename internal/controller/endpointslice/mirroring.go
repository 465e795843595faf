package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"

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

// Mirroring is the EndpointSlice mirroring controller: it copies the
// Endpoints of selector-less services into EndpointSlices.
type Mirroring struct {
	client      kubernetes.Interface
	log         *slog.Logger
	svcLister   corelisters.ServiceLister
	epLister    corelisters.EndpointsLister
	sliceLister discoverylisters.EndpointSliceLister
	synced      []cache.InformerSynced
	queue       workqueue.TypedRateLimitingInterface[string]
	tracker     *tracker
	maxPerSlice int
}

// NewMirroring builds the mirroring controller over the given informers
// (started by the caller).
func NewMirroring(client kubernetes.Interface, services coreinformers.ServiceInformer, endpoints coreinformers.EndpointsInformer, slices discoveryinformers.EndpointSliceInformer, logger *slog.Logger, opts Options) (*Mirroring, error) {
	if client == nil || services == nil || endpoints == nil || slices == nil {
		return nil, errors.New("endpointslice mirroring: client and informers are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Mirroring{
		client:      client,
		log:         logger,
		svcLister:   services.Lister(),
		epLister:    endpoints.Lister(),
		sliceLister: slices.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpointslicemirroring"}),
		tracker:     newTracker(),
		maxPerSlice: opts.MaxEndpointsPerSlice,
	}
	if m.maxPerSlice <= 0 {
		m.maxPerSlice = maxEndpointsPerSlice
	}
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			m.queue.Add(key)
		}
	}
	handlers := cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, cur any) { enqueue(cur) }, DeleteFunc: enqueue}
	// A service and its Endpoints share a name, so both map to one key.
	svcReg, err := services.Informer().AddEventHandler(handlers)
	if err != nil {
		return nil, fmt.Errorf("service informer: %w", err)
	}
	epReg, err := endpoints.Informer().AddEventHandler(handlers)
	if err != nil {
		return nil, fmt.Errorf("endpoints informer: %w", err)
	}
	sliceChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		s, ok := obj.(*discovery.EndpointSlice)
		if ok && s.Labels[discovery.LabelManagedBy] == managedByMirroring && s.Labels[discovery.LabelServiceName] != "" {
			m.queue.Add(s.Namespace + "/" + s.Labels[discovery.LabelServiceName])
		}
	}
	sliceReg, err := slices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: sliceChanged, UpdateFunc: func(_, cur any) { sliceChanged(cur) }, DeleteFunc: sliceChanged,
	})
	if err != nil {
		return nil, fmt.Errorf("endpointslice informer: %w", err)
	}
	m.synced = []cache.InformerSynced{svcReg.HasSynced, epReg.HasSynced, sliceReg.HasSynced}
	return m, nil
}

// Run waits for the caches, runs workers until ctx ends and returns after
// every goroutine it started has ended.
func (m *Mirroring) Run(ctx context.Context, workers int) error {
	return runQueue(ctx, m.log, m.queue, m.synced, workers, m.sync)
}

func (m *Mirroring) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	if m.tracker.stale(key, ns, m.sliceLister) {
		return errStaleCache
	}
	existing, err := m.sliceLister.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{
		discovery.LabelServiceName: name, discovery.LabelManagedBy: managedByMirroring,
	}))
	if err != nil {
		return err
	}
	ep, epErr := m.epLister.Endpoints(ns).Get(name)
	svc, svcErr := m.svcLister.Services(ns).Get(name)
	for _, err := range []error{epErr, svcErr} {
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if epErr != nil || svcErr != nil || svc.Spec.Selector != nil || ep.Labels[labelSkipMirror] == "true" {
		// Nothing to mirror: any slices mirrored before go.
		if len(existing) == 0 {
			m.tracker.forget(key)
			return nil
		}
		return apply(ctx, m.client, m.tracker, key, plan{Delete: existing})
	}
	p := reconcile(existing, desiredFromEndpoints(ep), mirrorSliceMeta(ep), m.maxPerSlice)
	if p.empty() {
		return nil
	}
	m.log.Debug("writing mirrored endpointslices", "endpoints", key, "create", len(p.Create), "update", len(p.Update), "delete", len(p.Delete))
	return apply(ctx, m.client, m.tracker, key, p)
}

// mirrorSliceMeta: the Endpoints' labels and annotations (less kubectl's
// last-applied copy), the service name and managed-by, owned by the
// Endpoints.
func mirrorSliceMeta(ep *corev1.Endpoints) sliceMeta {
	l := maps.Clone(ep.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[discovery.LabelServiceName] = ep.Name
	l[discovery.LabelManagedBy] = managedByMirroring
	a := maps.Clone(ep.Annotations)
	delete(a, corev1.LastAppliedConfigAnnotation)
	return sliceMeta{
		Namespace:   ep.Namespace,
		Prefix:      slicePrefix(ep.Name),
		Labels:      l,
		Annotations: a,
		Owner: metav1.OwnerReference{
			APIVersion: "v1", Kind: "Endpoints", Name: ep.Name, UID: ep.UID,
			Controller: ptr(true), BlockOwnerDeletion: ptr(true),
		},
	}
}
