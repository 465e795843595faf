package replicaset

import (
	"context"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/internal/controller/ownerref"
	"github.com/skiff-dev/skiff/internal/controller/podcontrol"
)

// sync reconciles the ReplicaSet key once.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key we produce; nothing to retry
	}
	cached, err := c.rsLister.ReplicaSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	needsSync := c.exp.satisfied(key)
	selector, err := metav1.LabelSelectorAsSelector(cached.Spec.Selector)
	if err != nil {
		// Validation forbids it; retrying cannot help.
		c.log.Warn("invalid selector", "replicaset", key, "err", err)
		return nil
	}
	all, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var active, terminating []*corev1.Pod
	for _, p := range all {
		switch {
		case podcontrol.IsActive(p):
			active = append(active, p)
		case podcontrol.IsTerminating(p):
			if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.UID == cached.UID && selector.Matches(labels.Set(p.Labels)) {
				terminating = append(terminating, p)
			}
		}
	}
	active, err = c.claimPods(ctx, cached, selector, active)
	if err != nil {
		return err
	}
	var manageErr error
	if needsSync && cached.DeletionTimestamp == nil {
		manageErr = c.manageReplicas(ctx, key, active, cached)
	}
	rs := cached.DeepCopy() // never mutate the cache
	now := c.now()
	status := calculateStatus(rs, active, terminating, manageErr, now)
	updated, err := c.updateStatus(ctx, rs, status)
	if err != nil {
		return err
	}
	if manageErr == nil {
		if d := nextAvailableCheck(updated, active, now); d > 0 {
			c.queue.AddAfter(key, d+10*time.Millisecond)
		}
	}
	return manageErr
}

// claimPods adopts and releases pods and returns the active pods rs controls.
func (c *Controller) claimPods(ctx context.Context, rs *appsv1.ReplicaSet, selector labels.Selector, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	getFresh := func(ctx context.Context) (metav1.Object, error) {
		return c.client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
	}
	patch := func(ctx context.Context, ns, name string, p []byte) error {
		_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, p, metav1.PatchOptions{})
		return err
	}
	cl := ownerref.NewClaimer(rs, controllerKind, selector, "Pod", getFresh, patch)
	return ownerref.Claim(ctx, cl, pods)
}

// manageReplicas creates or deletes pods so that active matches
// spec.replicas, recording expectations first.
func (c *Controller) manageReplicas(ctx context.Context, key string, active []*corev1.Pod, rs *appsv1.ReplicaSet) error {
	diff := len(active) - int(replicas(rs))
	switch {
	case diff < 0:
		n := min(-diff, burstReplicas)
		// Expect before acting: the informer may report a new pod before
		// Create returns.
		c.exp.expectCreations(key, n)
		ref := metav1.NewControllerRef(rs, controllerKind)
		ok, err := slowStartBatch(n, 1, func() error {
			err := c.pods.CreatePod(ctx, rs.Namespace, &rs.Spec.Template, rs, rs.Name, ref)
			if err != nil && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // the namespace is going away; nothing to report
			}
			return err
		})
		// Creations that were skipped or failed will never be observed.
		for range n - ok {
			c.exp.creationObserved(key)
		}
		if err != nil {
			return fmt.Errorf("create pods for replicaset %s: %w", key, err)
		}
	case diff > 0:
		n := min(diff, burstReplicas)
		related, err := c.relatedPods(rs)
		if err != nil {
			return err
		}
		victims := podsToDelete(active, related, n, c.now())
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = podcontrol.Key(p)
		}
		c.exp.expectDeletions(key, keys)
		errs := make(chan error, len(victims))
		var wg sync.WaitGroup
		for _, p := range victims {
			wg.Go(func() {
				if err := c.pods.DeletePod(ctx, rs.Namespace, p.Name, rs); err != nil {
					// The informer will not report this deletion.
					c.exp.deletionObserved(key, podcontrol.Key(p))
					if !apierrors.IsNotFound(err) {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return fmt.Errorf("delete pods of replicaset %s: %w", key, err)
		}
	}
	return nil
}

// relatedPods are the pods controlled by rs or by any ReplicaSet with the
// same controller (the other revisions of its Deployment), used to find
// pods doubled up on a node.
func (c *Controller) relatedPods(rs *appsv1.ReplicaSet) ([]*corev1.Pod, error) {
	owners := map[types.UID]bool{rs.UID: true}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		list, err := c.rsLister.ReplicaSets(rs.Namespace).List(labels.Everything())
		if err != nil {
			return nil, err
		}
		for _, o := range list {
			if r := metav1.GetControllerOfNoCopy(o); r != nil && r.UID == ref.UID {
				owners[o.UID] = true
			}
		}
	}
	pods, err := c.podLister.Pods(rs.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var out []*corev1.Pod
	for _, p := range pods {
		if r := metav1.GetControllerOfNoCopy(p); r != nil && owners[r.UID] {
			out = append(out, p)
		}
	}
	return out, nil
}

// slowStartBatch calls fn count times in batches of initial, 2·initial,
// 4·initial… concurrent calls, and stops after the first batch with an
// error, so that a failing create (quota, admission) costs one call, not
// hundreds. It returns the number of successful calls.
func slowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining, successes := count, 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		errs := make(chan error, batch)
		var wg sync.WaitGroup
		for range batch {
			wg.Go(func() {
				if err := fn(); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		successes += batch - len(errs)
		if len(errs) > 0 {
			return successes, <-errs
		}
		remaining -= batch
	}
	return successes, nil
}

// statusUpdateRetries is how many times a conflicting status write is
// retried on a freshly read object within one sync (Kubernetes: 1).
const statusUpdateRetries = 1

// updateStatus writes status (with observedGeneration) when it differs.
func (c *Controller) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet, status appsv1.ReplicaSetStatus) (*appsv1.ReplicaSet, error) {
	status.ObservedGeneration = rs.Generation
	if equality.Semantic.DeepEqual(rs.Status, status) {
		return rs, nil
	}
	client := c.client.AppsV1().ReplicaSets(rs.Namespace)
	for i := 0; ; i++ {
		rs.Status = status
		updated, err := client.UpdateStatus(ctx, rs, metav1.UpdateOptions{})
		if err == nil {
			return updated, nil
		}
		if i >= statusUpdateRetries {
			return nil, fmt.Errorf("update status of replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
		}
		fresh, gerr := client.Get(ctx, rs.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, fmt.Errorf("update status of replicaset %s/%s: %w", rs.Namespace, rs.Name, gerr)
		}
		rs = fresh
	}
}
