package statefulset

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

	"github.com/skiff-dev/skiff/internal/controller/history"
	"github.com/skiff-dev/skiff/internal/controller/podcontrol"
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

// Options tune a Controller. The zero value is Kubernetes' behaviour.
type Options struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Recorder records events (nil: a broadcaster writing core/v1 Events
	// through the client, started by Run).
	Recorder record.EventRecorder
}

// Controller is the StatefulSet controller.
type Controller struct {
	client    kubernetes.Interface
	log       *slog.Logger
	now       func() time.Time
	setLister appslisters.StatefulSetLister
	podLister corelisters.PodLister
	pvcLister corelisters.PersistentVolumeClaimLister
	history   history.Client
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]

	// recorder is set before the workers start (Run) and then only read.
	recorder record.EventRecorder
}

// New builds a StatefulSet controller over the given informers (started
// by the caller, e.g. by a shared informer factory).
func New(client kubernetes.Interface, setInformer appsinformers.StatefulSetInformer, podInformer coreinformers.PodInformer, pvcInformer coreinformers.PersistentVolumeClaimInformer, revInformer appsinformers.ControllerRevisionInformer, logger *slog.Logger, opts Options) (*Controller, error) {
	if client == nil || setInformer == nil || podInformer == nil || pvcInformer == nil || revInformer == nil {
		return nil, errors.New("statefulset: client and informers are required")
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
		setLister: setInformer.Lister(),
		podLister: podInformer.Lister(),
		pvcLister: pvcInformer.Lister(),
		history:   history.Client{Client: client, Lister: revInformer.Lister()},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "statefulset"}),
		recorder: opts.Recorder,
	}
	setReg, err := setInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, cur any) { c.enqueue(cur) },
		DeleteFunc: c.enqueue,
	})
	if err != nil {
		return nil, fmt.Errorf("statefulset informer: %w", err)
	}
	podReg, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePodEvent,
		DeleteFunc: c.deletePodEvent,
	})
	if err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	// Claims and revisions are read from caches: wait for them too.
	c.synced = []cache.InformerSynced{setReg.HasSynced, podReg.HasSynced, pvcInformer.Informer().HasSynced, revInformer.Informer().HasSynced}
	return c, nil
}

// Run waits for the caches, runs workers until ctx ends and returns after
// every goroutine it started has ended.
func (c *Controller) Run(ctx context.Context, workers int) error {
	if c.recorder == nil {
		rec, stop := runner.StartRecorder(ctx, c.client, "statefulset-controller")
		defer stop()
		c.recorder = rec
	}
	loop := &runner.Loop{Name: "statefulset", Queue: c.queue, Synced: c.synced, Sync: c.sync, Log: c.log}
	return loop.Run(ctx, workers)
}

func setKey(set *appsv1.StatefulSet) string { return set.Namespace + "/" + set.Name }

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.StatefulSet {
	if ref == nil || ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return nil
	}
	set, err := c.setLister.StatefulSets(ns).Get(ref.Name)
	if err != nil || set.UID != ref.UID {
		return nil
	}
	return set
}

// selecting lists the sets of pod's namespace that would adopt it.
func (c *Controller) selecting(pod *corev1.Pod) []*appsv1.StatefulSet {
	list, err := c.setLister.StatefulSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.StatefulSet
	for _, set := range list {
		sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) || !isMemberOf(set, pod) {
			continue
		}
		out = append(out, set)
	}
	return out
}

func (c *Controller) addPod(obj any) {
	pod := obj.(*corev1.Pod)
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if set := c.resolve(pod.Namespace, ref); set != nil {
			c.queue.Add(setKey(set))
		}
		return
	}
	for _, set := range c.selecting(pod) {
		c.queue.Add(setKey(set))
	}
}

func (c *Controller) updatePodEvent(oldObj, curObj any) {
	old, cur := oldObj.(*corev1.Pod), curObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	if !reflect.DeepEqual(curRef, oldRef) && oldRef != nil {
		if set := c.resolve(old.Namespace, oldRef); set != nil {
			c.queue.Add(setKey(set))
		}
	}
	if curRef != nil {
		set := c.resolve(cur.Namespace, curRef)
		if set == nil {
			return
		}
		c.queue.Add(setKey(set))
		// Ready now, available minReadySeconds later: nothing else
		// wakes us then.
		if !podcontrol.IsReady(old) && podcontrol.IsReady(cur) && set.Spec.MinReadySeconds > 0 {
			c.queue.AddAfter(setKey(set), time.Duration(set.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if !reflect.DeepEqual(old.Labels, cur.Labels) || oldRef != nil {
		for _, set := range c.selecting(cur) {
			c.queue.Add(setKey(set))
		}
	}
}

func (c *Controller) deletePodEvent(obj any) {
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
	if set := c.resolve(pod.Namespace, metav1.GetControllerOfNoCopy(pod)); set != nil {
		c.queue.Add(setKey(set))
	}
}
