package daemonset

import (
	"context"
	"errors"
	"fmt"
	"github.com/skiff-dev/skiff/internal/controller/runner"
	"log/slog"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff-dev/skiff/internal/controller/history"
	"github.com/skiff-dev/skiff/internal/controller/podcontrol"
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Retry policy for failed daemon pods, as Kubernetes': a node whose
// daemon pod keeps failing gets it replaced after 1s, 2s, 4s, … up to
// 15 minutes, so that the controller does not fight a kubelet that
// rejects the pod; entries idle for long are dropped every minute.
const (
	failedPodBackoffInitial = time.Second
	failedPodBackoffMax     = 15 * time.Minute
	backoffGCInterval       = time.Minute
)

// burstReplicas caps the pods created or deleted in one sync
// (Kubernetes' default).
const burstReplicas = 250

// Options tune a Controller. The zero value is Kubernetes' behaviour.
type Options struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Recorder records events (nil: a broadcaster writing core/v1 Events
	// through the client, started by Run).
	Recorder record.EventRecorder
}

// Controller is the DaemonSet controller.
type Controller struct {
	client     kubernetes.Interface
	log        *slog.Logger
	now        func() time.Time
	dsLister   appslisters.DaemonSetLister
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister
	history    history.Client
	synced     []cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[string]
	exp        *expectations
	backoff    *flowcontrol.Backoff // safe for concurrent use

	// recorder and pods are set before the workers start (Run) and then
	// only read.
	recorder record.EventRecorder
	pods     podcontrol.Control
}

// New builds a DaemonSet controller over the given informers (started by
// the caller, e.g. by a shared informer factory).
func New(client kubernetes.Interface, dsInformer appsinformers.DaemonSetInformer, revInformer appsinformers.ControllerRevisionInformer, podInformer coreinformers.PodInformer, nodeInformer coreinformers.NodeInformer, logger *slog.Logger, opts Options) (*Controller, error) {
	if client == nil || dsInformer == nil || revInformer == nil || podInformer == nil || nodeInformer == nil {
		return nil, errors.New("daemonset: client and informers are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	c := &Controller{
		client:     client,
		log:        logger,
		now:        now,
		dsLister:   dsInformer.Lister(),
		podLister:  podInformer.Lister(),
		nodeLister: nodeInformer.Lister(),
		history:    history.Client{Client: client, Lister: revInformer.Lister()},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "daemonset"}),
		exp:      newExpectations(now),
		backoff:  flowcontrol.NewBackOff(failedPodBackoffInitial, failedPodBackoffMax),
		recorder: opts.Recorder,
	}
	var regs []cache.ResourceEventHandlerRegistration
	add := func(inf cache.SharedIndexInformer, h cache.ResourceEventHandler, what string) error {
		r, err := inf.AddEventHandler(h)
		if err != nil {
			return fmt.Errorf("%s informer: %w", what, err)
		}
		regs = append(regs, r)
		return nil
	}
	err := errors.Join(
		add(dsInformer.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueue,
			UpdateFunc: func(_, cur any) { c.enqueue(cur) },
			DeleteFunc: c.deleteDaemonSet,
		}, "daemonset"),
		add(revInformer.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.revisionChanged,
			UpdateFunc: func(_, cur any) { c.revisionChanged(cur) },
			DeleteFunc: c.revisionChanged,
		}, "controllerrevision"),
		add(podInformer.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.addPod,
			UpdateFunc: c.updatePod,
			DeleteFunc: c.deletePod,
		}, "pod"),
		add(nodeInformer.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { c.enqueueAll() },
			UpdateFunc: c.updateNode,
			DeleteFunc: func(any) { c.enqueueAll() },
		}, "node"),
	)
	if err != nil {
		return nil, err
	}
	for _, r := range regs {
		c.synced = append(c.synced, r.HasSynced)
	}
	return c, nil
}

// Run waits for the caches, runs workers until ctx ends and returns after
// every goroutine it started has ended.
func (c *Controller) Run(ctx context.Context, workers int) error {
	if c.recorder == nil {
		rec, stop := runner.StartRecorder(ctx, c.client, "daemonset-controller")
		defer stop()
		c.recorder = rec
	}
	c.pods = podcontrol.Control{Client: c.client, Recorder: c.recorder}
	loop := &runner.Loop{Name: "daemonset", Queue: c.queue, Synced: c.synced, Sync: c.sync, Log: c.log}
	return loop.Run(ctx, workers)
}

func dsKey(ds *appsv1.DaemonSet) string { return ds.Namespace + "/" + ds.Name }

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) enqueueAll() {
	list, err := c.dsLister.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range list {
		c.queue.Add(dsKey(ds))
	}
}

func (c *Controller) deleteDaemonSet(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	c.exp.forget(key)
	c.queue.Add(key)
}

// updateNode wakes every DaemonSet when something placement depends on
// changed (labels, taints); status heartbeats are ignored.
func (c *Controller) updateNode(oldObj, curObj any) {
	old, cur := oldObj.(*corev1.Node), curObj.(*corev1.Node)
	if reflect.DeepEqual(old.Labels, cur.Labels) && reflect.DeepEqual(old.Spec.Taints, cur.Spec.Taints) {
		return
	}
	c.enqueueAll()
}

// resolve returns the DaemonSet a ControllerRef points to, or nil.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.DaemonSet {
	if ref == nil || ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return nil
	}
	ds, err := c.dsLister.DaemonSets(ns).Get(ref.Name)
	if err != nil || ds.UID != ref.UID {
		return nil
	}
	return ds
}

// selecting lists the DaemonSets of ns whose selector matches lbls.
func (c *Controller) selecting(ns string, lbls map[string]string) []*appsv1.DaemonSet {
	list, err := c.dsLister.DaemonSets(ns).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.DaemonSet
	for _, ds := range list {
		sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(lbls)) {
			continue
		}
		out = append(out, ds)
	}
	return out
}

func (c *Controller) revisionChanged(obj any) {
	rev, ok := obj.(*appsv1.ControllerRevision)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if rev, ok = tomb.Obj.(*appsv1.ControllerRevision); !ok {
			return
		}
	}
	if ref := metav1.GetControllerOfNoCopy(rev); ref != nil {
		if ds := c.resolve(rev.Namespace, ref); ds != nil {
			c.queue.Add(dsKey(ds))
		}
		return
	}
	for _, ds := range c.selecting(rev.Namespace, rev.Labels) {
		c.queue.Add(dsKey(ds))
	}
}

func (c *Controller) addPod(obj any) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if ds := c.resolve(pod.Namespace, ref); ds != nil {
			c.exp.lower(dsKey(ds), 1, 0)
			c.queue.Add(dsKey(ds))
		}
		return
	}
	for _, ds := range c.selecting(pod.Namespace, pod.Labels) {
		c.queue.Add(dsKey(ds))
	}
}

func (c *Controller) updatePod(oldObj, curObj any) {
	old, cur := oldObj.(*corev1.Pod), curObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
		// Graceful deletion started: it counts as observed now.
		c.deletePod(cur)
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	if !reflect.DeepEqual(curRef, oldRef) && oldRef != nil {
		if ds := c.resolve(old.Namespace, oldRef); ds != nil {
			c.queue.Add(dsKey(ds))
		}
	}
	if curRef != nil {
		ds := c.resolve(cur.Namespace, curRef)
		if ds == nil {
			return
		}
		c.queue.Add(dsKey(ds))
		// A pod that just turned ready becomes available minReadySeconds
		// later; nothing else wakes us then.
		if !podcontrol.IsReady(old) && podcontrol.IsReady(cur) && ds.Spec.MinReadySeconds > 0 {
			c.queue.AddAfter(dsKey(ds), time.Duration(ds.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if !reflect.DeepEqual(old.Labels, cur.Labels) || oldRef != nil {
		for _, ds := range c.selecting(cur.Namespace, cur.Labels) {
			c.queue.Add(dsKey(ds))
		}
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	ds := c.resolve(pod.Namespace, metav1.GetControllerOfNoCopy(pod))
	if ds == nil {
		return
	}
	c.exp.lower(dsKey(ds), 0, 1)
	c.queue.Add(dsKey(ds))
}
