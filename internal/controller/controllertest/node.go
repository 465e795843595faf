package controllertest

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Node binds, starts and readies pods, and completes their deletion.
type Node struct {
	// Name is the node pods are bound to ("node-1" when empty).
	Name string
	// Ready decides whether a started pod becomes Ready (nil: all do).
	// A pod kept unready stays Running with Ready=False; it is asked
	// again whenever the pod changes or Poke is called. Set it before
	// Start; SetReady changes it while the node runs.
	Ready func(*corev1.Pod) bool
	// StartDelay is waited before a bound pod is marked Running (0: none).
	StartDelay time.Duration

	client kubernetes.Interface
	queue  workqueue.TypedRateLimitingInterface[string]
	lister cache.Indexer
	mu     sync.Mutex
	paused bool
}

// Start runs the node against client until ctx ends; the returned
// function waits for it to stop.
func (n *Node) Start(ctx context.Context, client kubernetes.Interface) (wait func()) {
	if n.Name == "" {
		n.Name = "node-1"
	}
	n.client = client
	n.queue = workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, time.Second))
	f := informers.NewSharedInformerFactory(client, 0)
	inf := f.Core().V1().Pods().Informer()
	n.lister = inf.GetIndexer()
	add := func(obj any) {
		if k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			n.queue.Add(k)
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }})
	f.Start(ctx.Done())
	var wg sync.WaitGroup
	wg.Go(func() {
		cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
		for {
			key, quit := n.queue.Get()
			if quit {
				return
			}
			if err := n.handle(ctx, key); err != nil && ctx.Err() == nil {
				n.queue.AddRateLimited(key)
			} else {
				n.queue.Forget(key)
			}
			n.queue.Done(key)
		}
	})
	wg.Go(func() {
		<-ctx.Done()
		n.queue.ShutDown()
	})
	return func() {
		wg.Wait()
		f.Shutdown()
	}
}

// Poke asks the node to look at every pod again (after changing Ready).
func (n *Node) Poke() {
	for _, k := range n.lister.ListKeys() {
		n.queue.Add(k)
	}
}

// SetReady replaces Ready while the node runs and looks at every pod
// again.
func (n *Node) SetReady(ready func(*corev1.Pod) bool) {
	n.mu.Lock()
	n.Ready = ready
	n.mu.Unlock()
	n.Poke()
}

// Pause stops the node from acting on pods until Resume.
func (n *Node) Pause() { n.mu.Lock(); n.paused = true; n.mu.Unlock() }

// Resume undoes Pause and looks at every pod again.
func (n *Node) Resume() { n.mu.Lock(); n.paused = false; n.mu.Unlock(); n.Poke() }

func (n *Node) handle(ctx context.Context, key string) error {
	n.mu.Lock()
	paused, readyFn := n.paused, n.Ready
	n.mu.Unlock()
	if paused {
		return nil
	}
	obj, ok, err := n.lister.GetByKey(key)
	if err != nil || !ok {
		return err
	}
	pod := obj.(*corev1.Pod)
	pods := n.client.CoreV1().Pods(pod.Namespace)
	switch {
	case pod.DeletionTimestamp != nil:
		// The kubelet has stopped the containers: finish the deletion.
		zero := int64(0)
		err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	case pod.Spec.NodeName == "":
		err := pods.Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: n.Name},
		}, metav1.CreateOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	case pod.Status.Phase == corev1.PodPending || pod.Status.Phase == corev1.PodRunning:
		if pod.Status.Phase == corev1.PodPending && n.StartDelay > 0 {
			if age := time.Since(pod.CreationTimestamp.Time); age < n.StartDelay {
				n.queue.AddAfter(key, n.StartDelay-age)
				return nil
			}
		}
		ready := readyFn == nil || readyFn(pod)
		if pod.Status.Phase == corev1.PodRunning && isReady(pod) == ready {
			return nil
		}
		return n.setRunning(ctx, pod, ready)
	}
	return nil
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (n *Node) setRunning(ctx context.Context, pod *corev1.Pod, ready bool) error {
	p := pod.DeepCopy()
	now := metav1.Now()
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	if p.Status.StartTime == nil {
		p.Status.StartTime = &now
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.HostIP = "127.0.0.1"
	p.Status.PodIP = "127.0.0.2"
	setCond(p, corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now})
	setCond(p, corev1.PodCondition{Type: corev1.ContainersReady, Status: st, LastTransitionTime: now})
	setCond(p, corev1.PodCondition{Type: corev1.PodReady, Status: st, LastTransitionTime: now})
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: ready, Started: &ready,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: *p.Status.StartTime}},
		})
	}
	_, err := n.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // a newer version is on its way to us
	}
	return err
}

func setCond(p *corev1.Pod, c corev1.PodCondition) {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == c.Type {
			if p.Status.Conditions[i].Status == c.Status {
				return
			}
			p.Status.Conditions[i] = c
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, c)
}
