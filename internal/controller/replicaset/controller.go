package replicaset

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
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff-dev/skiff/internal/controller/podcontrol"
)

// controllerKind is the GroupVersionKind of the objects this controller
// manages, used in ControllerRefs.
var controllerKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

// burstReplicas caps the pods created or deleted in one sync, so that one
// huge ReplicaSet cannot starve the others (Kubernetes' default).
const burstReplicas = 500

// Options tune a Controller. The zero value is Kubernetes' behaviour.
type Options struct {
	// Now is the clock (nil: time.Now). Tests inject one.
	Now func() time.Time
	// Recorder records events (nil: a broadcaster writing core/v1 Events
	// through the client, started by Run).
	Recorder record.EventRecorder
}

// Controller is the ReplicaSet controller.
type Controller struct {
	client    kubernetes.Interface
	log       *slog.Logger
	now       func() time.Time
	rsLister  appslisters.ReplicaSetLister
	podLister corelisters.PodLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	exp       *expectations

	// recorder and pods are set before the workers start (Run) and then
	// only read.
	recorder record.EventRecorder
	pods     podcontrol.Control
}

// New builds a ReplicaSet controller over the given informers (started
// by the caller, e.g. by a shared informer factory).
func New(client kubernetes.Interface, rsInformer appsinformers.ReplicaSetInformer, podInformer coreinformers.PodInformer, logger *slog.Logger, opts Options) (*Controller, error) {
	if client == nil || rsInformer == nil || podInformer == nil {
		return nil, errors.New("replicaset: client and informers are required")
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
		rsLister:  rsInformer.Lister(),
		podLister: podInformer.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "replicaset"}),
		exp:      newExpectations(now),
		recorder: opts.Recorder,
	}
	rsReg, err := rsInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, cur any) { c.enqueue(cur) },
		DeleteFunc: c.deleteRS,
	})
	if err != nil {
		return nil, fmt.Errorf("replicaset informer: %w", err)
	}
	podReg, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	})
	if err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	c.synced = []cache.InformerSynced{rsReg.HasSynced, podReg.HasSynced}
	return c, nil
}

// Run waits for the caches, runs workers until ctx ends and returns after
// every goroutine it started has ended.
func (c *Controller) Run(ctx context.Context, workers int) error {
	if c.recorder == nil {
		rec, stop := runner.StartRecorder(ctx, c.client, "replicaset-controller")
		defer stop()
		c.recorder = rec
	}
	c.pods = podcontrol.Control{Client: c.client, Recorder: c.recorder}
	loop := &runner.Loop{Name: "replicaset", Queue: c.queue, Synced: c.synced, Sync: c.sync, Log: c.log}
	return loop.Run(ctx, workers)
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) enqueueAfter(rs *appsv1.ReplicaSet, d time.Duration) {
	c.queue.AddAfter(rs.Namespace+"/"+rs.Name, d)
}

func (c *Controller) deleteRS(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	c.exp.forget(key)
	c.queue.Add(key)
}

// resolve returns the ReplicaSet a ControllerRef points to, or nil when it
// is not one of ours or is a different object of the same name.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	if ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return nil
	}
	rs, err := c.rsLister.ReplicaSets(ns).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	return rs
}

// replicaSetsSelecting lists the ReplicaSets whose selector matches pod.
func (c *Controller) replicaSetsSelecting(pod *corev1.Pod) []*appsv1.ReplicaSet {
	list, err := c.rsLister.ReplicaSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.ReplicaSet
	for _, rs := range list {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, rs)
	}
	return out
}

func (c *Controller) addPod(obj any) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already being deleted (e.g. after a
		// relist): count it as a deletion.
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		rs := c.resolve(pod.Namespace, ref)
		if rs == nil {
			return
		}
		key := rs.Namespace + "/" + rs.Name
		c.exp.creationObserved(key)
		c.queue.Add(key)
		return
	}
	// An orphan: wake every ReplicaSet that might adopt it.
	for _, rs := range c.replicaSetsSelecting(pod) {
		c.enqueue(rs)
	}
}

func (c *Controller) updatePod(oldObj, curObj any) {
	old, cur := oldObj.(*corev1.Pod), curObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return // a resync
	}
	labelsChanged := !reflect.DeepEqual(old.Labels, cur.Labels)
	if cur.DeletionTimestamp != nil {
		// Graceful deletion started: the pod no longer counts, so act now
		// rather than when the kubelet finally removes it.
		c.deletePod(cur)
		if labelsChanged {
			c.deletePod(old)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if rs := c.resolve(old.Namespace, oldRef); rs != nil {
			c.enqueue(rs)
		}
	}
	if curRef != nil {
		rs := c.resolve(cur.Namespace, curRef)
		if rs == nil {
			return
		}
		c.enqueue(rs)
		// A pod that just turned ready becomes available minReadySeconds
		// later; nothing else will wake us then.
		if !podcontrol.IsReady(old) && podcontrol.IsReady(cur) && rs.Spec.MinReadySeconds > 0 {
			c.enqueueAfter(rs, time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if labelsChanged || refChanged {
		for _, rs := range c.replicaSetsSelecting(cur) {
			c.enqueue(rs)
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
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return
	}
	rs := c.resolve(pod.Namespace, ref)
	if rs == nil {
		return
	}
	key := rs.Namespace + "/" + rs.Name
	c.exp.deletionObserved(key, podcontrol.Key(pod))
	c.queue.Add(key)
}
