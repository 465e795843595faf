package endpoints

import (
	"context"
	"errors"
	"fmt"
	"github.com/skiff-dev/skiff/internal/controller/runner"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Options tune a Controller. The zero value is Kubernetes' behaviour.
type Options struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Controller is the Endpoints controller.
type Controller struct {
	client    kubernetes.Interface
	log       *slog.Logger
	now       func() time.Time
	svcLister corelisters.ServiceLister
	podLister corelisters.PodLister
	epLister  corelisters.EndpointsLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
}

// New builds an Endpoints controller over the given informers (started by
// the caller, e.g. by a shared informer factory).
func New(client kubernetes.Interface, services coreinformers.ServiceInformer, pods coreinformers.PodInformer, endpoints coreinformers.EndpointsInformer, logger *slog.Logger, opts Options) (*Controller, error) {
	if client == nil || services == nil || pods == nil || endpoints == nil {
		return nil, errors.New("endpoints: client and informers are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	c := &Controller{
		client:    client,
		log:       logger,
		now:       now,
		svcLister: services.Lister(),
		podLister: pods.Lister(),
		epLister:  endpoints.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpoints"}),
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
	// Endpoints written by someone else (or deleted) are put back: the
	// service is requeued whenever its Endpoints change.
	epReg, err := endpoints.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, cur any) { c.enqueue(cur) },
		DeleteFunc: c.enqueue,
	})
	if err != nil {
		return nil, fmt.Errorf("endpoints informer: %w", err)
	}
	c.synced = []cache.InformerSynced{svcReg.HasSynced, podReg.HasSynced, epReg.HasSynced}
	return c, nil
}

// Run waits for the caches, runs workers until ctx ends and returns after
// every goroutine it started has ended.
func (c *Controller) Run(ctx context.Context, workers int) error {
	loop := &runner.Loop{Name: "service", Queue: c.queue, Synced: c.synced, Sync: c.sync, Log: c.log}
	return loop.Run(ctx, workers)
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	c.queue.Add(key)
}

// podChanged requeues every service whose selector matches the pod before
// or after the change.
func (c *Controller) podChanged(old, cur any) {
	pods := make([]*corev1.Pod, 0, 2)
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
