package deployment

import (
	"context"
	"errors"
	"fmt"
	"github.com/skiff-dev/skiff/internal/controller/runner"
	"log/slog"
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
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// maxRetries is how many times a failing Deployment is retried with
// backoff (5ms doubling: about 82s in all) before it is dropped until
// its next change; Kubernetes uses the same number.
const maxRetries = 15

// Options tune a Controller. The zero value is Kubernetes' behaviour.
type Options struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Recorder records events (nil: a broadcaster writing core/v1 Events,
	// started by Run).
	Recorder record.EventRecorder
}

// Controller is the Deployment controller.
type Controller struct {
	client    kubernetes.Interface
	log       *slog.Logger
	now       func() time.Time
	dLister   appslisters.DeploymentLister
	rsLister  appslisters.ReplicaSetLister
	podLister corelisters.PodLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]

	// recorder is set before the workers start (Run) and then only read.
	recorder record.EventRecorder
}

// New builds a Deployment controller over the given informers (started by
// the caller).
func New(client kubernetes.Interface, dInformer appsinformers.DeploymentInformer, rsInformer appsinformers.ReplicaSetInformer, podInformer coreinformers.PodInformer, logger *slog.Logger, opts Options) (*Controller, error) {
	if client == nil || dInformer == nil || rsInformer == nil || podInformer == nil {
		return nil, errors.New("deployment: client and informers are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	c := &Controller{
		client: client, log: logger, now: now,
		dLister: dInformer.Lister(), rsLister: rsInformer.Lister(), podLister: podInformer.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "deployment"}),
		recorder: opts.Recorder,
	}
	dReg, err := dInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, cur any) { c.enqueue(cur) },
		DeleteFunc: c.enqueue,
	})
	if err != nil {
		return nil, fmt.Errorf("deployment informer: %w", err)
	}
	rsReg, err := rsInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addRS,
		UpdateFunc: c.updateRS,
		DeleteFunc: c.deleteRS,
	})
	if err != nil {
		return nil, fmt.Errorf("replicaset informer: %w", err)
	}
	podReg, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: c.deletePod})
	if err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	c.synced = []cache.InformerSynced{dReg.HasSynced, rsReg.HasSynced, podReg.HasSynced}
	return c, nil
}

// Run waits for the caches, runs workers until ctx ends and returns after
// every goroutine it started has ended.
func (c *Controller) Run(ctx context.Context, workers int) error {
	if c.recorder == nil {
		rec, stop := runner.StartRecorder(ctx, c.client, "deployment-controller")
		defer stop()
		c.recorder = rec
	}
	loop := &runner.Loop{Name: "deployment", Queue: c.queue, Synced: c.synced, Sync: c.sync, Log: c.log,
		MaxRetries: maxRetries,
	}
	return loop.Run(ctx, workers)
}

func key(d *appsv1.Deployment) string { return d.Namespace + "/" + d.Name }

func (c *Controller) enqueue(obj any) {
	k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(k)
}

// resolve returns the Deployment a ControllerRef points to, if it is ours.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.Deployment {
	if ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return nil
	}
	d, err := c.dLister.Deployments(ns).Get(ref.Name)
	if err != nil || d.UID != ref.UID {
		return nil
	}
	return d
}

// deploymentsSelecting lists the Deployments whose selector matches rs.
func (c *Controller) deploymentsSelecting(rs *appsv1.ReplicaSet) []*appsv1.Deployment {
	list, err := c.dLister.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.Deployment
	for _, d := range list {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(rs.Labels)) {
			continue
		}
		out = append(out, d)
	}
	return out
}

func (c *Controller) addRS(obj any) {
	rs := obj.(*appsv1.ReplicaSet)
	if rs.DeletionTimestamp != nil {
		c.deleteRS(rs)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := c.resolve(rs.Namespace, ref); d != nil {
			c.queue.Add(key(d))
		}
		return
	}
	for _, d := range c.deploymentsSelecting(rs) {
		c.queue.Add(key(d))
	}
}

func (c *Controller) updateRS(oldObj, curObj any) {
	old, cur := oldObj.(*appsv1.ReplicaSet), curObj.(*appsv1.ReplicaSet)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	if oldRef != nil && (curRef == nil || curRef.UID != oldRef.UID) {
		if d := c.resolve(old.Namespace, oldRef); d != nil {
			c.queue.Add(key(d))
		}
	}
	if curRef != nil {
		if d := c.resolve(cur.Namespace, curRef); d != nil {
			c.queue.Add(key(d))
		}
		return
	}
	for _, d := range c.deploymentsSelecting(cur) {
		c.queue.Add(key(d))
	}
}

func (c *Controller) deleteRS(obj any) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if rs, ok = tomb.Obj.(*appsv1.ReplicaSet); !ok {
			return
		}
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := c.resolve(rs.Namespace, ref); d != nil {
			c.queue.Add(key(d))
		}
	}
}

// deletePod wakes a Recreate Deployment when the last pod of its old
// ReplicaSets is gone: that is when the new ReplicaSet may start.
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
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	rs, err := c.rsLister.ReplicaSets(pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	dref := metav1.GetControllerOfNoCopy(rs)
	if dref == nil {
		return
	}
	d := c.resolve(rs.Namespace, dref)
	if d == nil || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		return
	}
	c.queue.Add(key(d))
}
