package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/internal/storage"
)

// Finalizers the garbage collector acts on (metav1.FinalizerOrphanDependents
// and metav1.FinalizerDeleteDependents).
const (
	FinalizerOrphan     = metav1.FinalizerOrphanDependents
	FinalizerForeground = metav1.FinalizerDeleteDependents
)

// Delete deletes ns/name as Kubernetes does: preconditions, graceful
// deletion (pods), finalizers and the propagation policy (Orphan and
// Foreground add the finalizer the garbage collector acts on; Background
// deletes at once and leaves dependents to the collector). It returns the
// object and whether it is gone from storage (false: it is now marked for
// deletion and stays until its finalizers are removed or its grace period
// ends).
func (s *Store) Delete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	policy, err := propagationPolicy(opts)
	if err != nil {
		return nil, false, err
	}
	key := s.key(ns, name)
	for attempt := 0; ; attempt++ {
		kv, err := s.storage.Get(ctx, key)
		if err != nil {
			return nil, false, s.storageError(err, name)
		}
		obj, err := s.fromKV(kv)
		if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		a, _ := meta.Accessor(obj)
		if p := opts.Preconditions; p != nil {
			if p.UID != nil && *p.UID != a.GetUID() {
				return nil, false, apierrors.NewConflict(s.Kind.GroupResource(), name,
					fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, a.GetUID()))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != a.GetResourceVersion() {
				return nil, false, apierrors.NewConflict(s.Kind.GroupResource(), name,
					fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, a.GetResourceVersion()))
			}
		}
		grace := s.gracePeriod(obj, opts)
		finalizers := a.GetFinalizers()
		switch policy {
		case metav1.DeletePropagationOrphan:
			finalizers = withFinalizer(without(finalizers, FinalizerForeground), FinalizerOrphan)
		case metav1.DeletePropagationForeground:
			finalizers = withFinalizer(without(finalizers, FinalizerOrphan), FinalizerForeground)
		default:
			if opts.PropagationPolicy != nil {
				finalizers = without(without(finalizers, FinalizerOrphan), FinalizerForeground)
			}
		}
		pending := len(finalizers) > 0 || s.hasPendingFinalizers(obj)
		if !pending && grace == 0 {
			if opts.DryRun != nil && len(opts.DryRun) > 0 {
				return obj, true, nil
			}
			_, rev, err := s.storage.Delete(ctx, key, kv.ModRevision)
			if errors.Is(err, storage.ErrConflict) && attempt < maxUpdateRetries {
				continue
			}
			if err != nil {
				return nil, false, s.storageError(err, name)
			}
			if s.onDelete != nil {
				s.onDelete(ctx, obj)
			}
			setRV(obj, rev)
			return obj, true, nil

		}
		// Mark for deletion: deletionTimestamp is when the object should be
		// gone (now + grace); a shorter grace period may shorten it.
		now := s.now()
		if dt := a.GetDeletionTimestamp(); dt != nil {
			cur := a.GetDeletionGracePeriodSeconds()
			if cur != nil && *cur <= grace && sameStrings(finalizers, a.GetFinalizers()) {
				return obj, false, nil
			}
			if cur == nil || grace < *cur {
				a.SetDeletionTimestamp(&metav1.Time{Time: now.Add(time.Duration(grace) * time.Second).Truncate(time.Second)})
				a.SetDeletionGracePeriodSeconds(&grace)
			}
		} else {
			a.SetDeletionTimestamp(&metav1.Time{Time: now.Add(time.Duration(grace) * time.Second).Truncate(time.Second)})
			a.SetDeletionGracePeriodSeconds(&grace)
		}
		a.SetFinalizers(finalizers)
		if ns, ok := obj.(*corev1.Namespace); ok {
			ns.Status.Phase = corev1.NamespaceTerminating
		}
		if opts.DryRun != nil && len(opts.DryRun) > 0 {
			return obj, false, nil
		}
		value, err := s.encode(obj)
		if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		rev, err := s.storage.Update(ctx, key, value, kv.ModRevision)
		if errors.Is(err, storage.ErrConflict) && attempt < maxUpdateRetries {
			continue
		}
		if err != nil {
			return nil, false, s.storageError(err, name)
		}
		setRV(obj, rev)
		return obj, false, nil
	}
}

func propagationPolicy(opts *metav1.DeleteOptions) (metav1.DeletionPropagation, error) {
	if opts.PropagationPolicy != nil && opts.OrphanDependents != nil {
		return "", apierrors.NewBadRequest("orphanDependents and propagationPolicy cannot both be set")
	}
	if opts.OrphanDependents != nil {
		if *opts.OrphanDependents {
			return metav1.DeletePropagationOrphan, nil
		}
		return metav1.DeletePropagationBackground, nil
	}
	if opts.PropagationPolicy == nil {
		return metav1.DeletePropagationBackground, nil
	}
	switch p := *opts.PropagationPolicy; p {
	case metav1.DeletePropagationOrphan, metav1.DeletePropagationForeground, metav1.DeletePropagationBackground:
		return p, nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("propagationPolicy: Unsupported value: %q: supported values: \"Foreground\", \"Background\", \"Orphan\"", p))
	}
}

// gracePeriod is the seconds an object gets before it is removed. Only
// pods that a node runs have one, as in Kubernetes: the kubelet stops the
// containers and then deletes the pod with a grace period of 0.
func (s *Store) gracePeriod(obj runtime.Object, opts *metav1.DeleteOptions) int64 {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return 0
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	var grace int64 = corev1.DefaultTerminationGracePeriodSeconds
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if grace < 0 {
		grace = 0
	}
	return grace
}

// hasPendingFinalizers reports finalizers outside metadata.finalizers: a
// namespace stays until the namespace controller has emptied it and
// removed "kubernetes" from spec.finalizers.
func (s *Store) hasPendingFinalizers(obj runtime.Object) bool {
	ns, ok := obj.(*corev1.Namespace)
	return ok && len(ns.Spec.Finalizers) > 0
}

func withFinalizer(list []string, f string) []string {
	for _, x := range list {
		if x == f {
			return list
		}
	}
	return append(append([]string(nil), list...), f)
}

func without(list []string, f string) []string {
	var out []string
	for _, x := range list {
		if x != f {
			out = append(out, x)
		}
	}
	return out
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
