package statefulset

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"github.com/skiff-dev/skiff/internal/controller/history"
	"github.com/skiff-dev/skiff/internal/controller/ownerref"
)

// sync brings one StatefulSet to its desired state: adopt revisions and
// pods, settle the current and update revisions, act on pods, store
// status, trim history.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.setLister.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get statefulset %s: %w", key, err)
	}
	set := cached.DeepCopy() // never mutate the cache
	sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || sel.Empty() {
		// Invalid or empty selectors never match: nothing to retry.
		return nil
	}
	revs, err := c.history.List(set, sel)
	if err != nil {
		return err
	}
	if err := c.adoptRevisions(ctx, set, revs); err != nil {
		return err
	}
	pods, err := c.podsFor(ctx, set, sel)
	if err != nil {
		return err
	}
	history.Sort(revs)
	current, update, collisionCount, err := c.revisions(ctx, set, revs)
	if err != nil {
		return fmt.Errorf("revisions of statefulset %s: %w", key, err)
	}
	status, err := c.updateStatefulSet(ctx, set, current, update, collisionCount, pods)
	var statusErr error
	if status != nil {
		statusErr = c.storeStatus(ctx, set, status)
		if set.Spec.MinReadySeconds > 0 && status.AvailableReplicas != int32(replicas(set)) {
			c.queue.AddAfter(key, time.Duration(set.Spec.MinReadySeconds)*time.Second)
		}
	}
	truncErr := c.truncateHistory(ctx, set, pods, revs, current, update)
	return errors.Join(err, statusErr, truncErr)
}

// adoptRevisions takes ControllerRevisions nobody controls that match
// the set's selector.
func (c *Controller) adoptRevisions(ctx context.Context, set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision) error {
	var orphans []*appsv1.ControllerRevision
	for _, r := range revs {
		if metav1.GetControllerOfNoCopy(r) == nil {
			orphans = append(orphans, r)
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	fresh, err := c.client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get statefulset %s: %w", setKey(set), err)
	}
	if fresh.UID != set.UID {
		return fmt.Errorf("original StatefulSet %s is gone: got uid %s, wanted %s", setKey(set), fresh.UID, set.UID)
	}
	for _, r := range orphans {
		p, err := ownerref.AdoptPatch(set, controllerKind, r.UID)
		if err != nil {
			return err
		}
		if err := c.history.Patch(ctx, r.Namespace, r.Name, p); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("adopt controllerrevision %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	return nil
}

// podsFor returns the pods set controls, adopting orphans whose name and
// labels make them members.
func (c *Controller) podsFor(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector) ([]*corev1.Pod, error) {
	all, err := c.podLister.Pods(set.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var candidates []*corev1.Pod
	for _, p := range all {
		if isMemberOf(set, p) || metav1.IsControlledBy(p, set) {
			candidates = append(candidates, p)
		}
	}
	getFresh := func(ctx context.Context) (metav1.Object, error) {
		return c.client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	}
	cl := ownerref.NewClaimer(set, controllerKind, sel, "Pod", getFresh, func(ctx context.Context, ns, name string, p []byte) error {
		_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, p, metav1.PatchOptions{})
		return err
	})
	return ownerref.Claim(ctx, cl, candidates)
}

// storeStatus finishes a rolling update that is complete (current
// revision := update revision) and writes status if it changed.
func (c *Controller) storeStatus(ctx context.Context, set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) error {
	if set.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType &&
		st.UpdatedReplicas == st.Replicas && st.ReadyReplicas == st.Replicas {
		st.CurrentReplicas = st.UpdatedReplicas
		st.CurrentRevision = st.UpdateRevision
	}
	old := set.Status
	if st.ObservedGeneration <= old.ObservedGeneration && st.Replicas == old.Replicas && st.CurrentReplicas == old.CurrentReplicas &&
		st.ReadyReplicas == old.ReadyReplicas && st.UpdatedReplicas == old.UpdatedReplicas && st.AvailableReplicas == old.AvailableReplicas &&
		st.CurrentRevision == old.CurrentRevision && st.UpdateRevision == old.UpdateRevision && equalPtr(st.CollisionCount, old.CollisionCount) {
		return nil
	}
	api := c.client.AppsV1().StatefulSets(set.Namespace)
	toUpdate := set.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		st.Conditions = toUpdate.Status.Conditions
		toUpdate.Status = *st
		_, err := api.UpdateStatus(ctx, toUpdate, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) {
			return err
		}
		fresh, gerr := api.Get(ctx, set.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		toUpdate = fresh
		return err
	})
	if err != nil {
		return fmt.Errorf("update status of statefulset %s: %w", setKey(set), err)
	}
	return nil
}

func equalPtr(a, b *int32) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
