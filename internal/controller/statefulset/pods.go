package statefulset

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// Event reasons beyond podcontrol's: Kubernetes' StatefulSet controller
// words its create/delete events "create Pod web-0 in StatefulSet web
// successful" under SuccessfulCreate/SuccessfulDelete/FailedCreate/….
const (
	RecreatingFailedPodReason     = "RecreatingFailedPod"
	RecreatingTerminatedPodReason = "RecreatingTerminatedPod"
)

// recordPod records the outcome of verb ("create", "update", "delete") on
// pod as the StatefulSet controller does.
func (c *Controller) recordPod(verb string, set *appsv1.StatefulSet, pod *corev1.Pod, err error) {
	title := strings.ToUpper(verb[:1]) + verb[1:]
	if err == nil {
		c.recorder.Eventf(set, corev1.EventTypeNormal, "Successful"+title, "%s Pod %s in StatefulSet %s successful", verb, pod.Name, set.Name)
		return
	}
	c.recorder.Eventf(set, corev1.EventTypeWarning, "Failed"+title, "%s Pod %s in StatefulSet %s failed error: %s", verb, pod.Name, set.Name, err)
}

func (c *Controller) recordClaim(verb string, set *appsv1.StatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim, err error) {
	title := strings.ToUpper(verb[:1]) + verb[1:]
	if err == nil {
		c.recorder.Eventf(set, corev1.EventTypeNormal, "Successful"+title, "%s Claim %s Pod %s in StatefulSet %s success", verb, claim.Name, pod.Name, set.Name)
		return
	}
	c.recorder.Eventf(set, corev1.EventTypeWarning, "Failed"+title, "%s Claim %s for Pod %s in StatefulSet %s failed error: %s", verb, claim.Name, pod.Name, set.Name, err)
}

// createMissingClaims creates pod's claims that do not exist yet. A claim
// being deleted is an error: the pod must wait for it to go.
func (c *Controller) createMissingClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	var errs []error
	for _, claim := range claimsFor(set, pod) {
		existing, err := c.pvcLister.PersistentVolumeClaims(claim.Namespace).Get(claim.Name)
		switch {
		case apierrors.IsNotFound(err):
			_, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Create(ctx, &claim, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				errs = append(errs, fmt.Errorf("failed to create PVC %s: %w", claim.Name, err))
			}
			if err == nil || !apierrors.IsAlreadyExists(err) {
				c.recordClaim("create", set, pod, &claim, err)
			}
		case err != nil:
			errs = append(errs, fmt.Errorf("failed to retrieve PVC %s: %w", claim.Name, err))
			c.recordClaim("create", set, pod, &claim, err)
		case existing.DeletionTimestamp != nil:
			errs = append(errs, fmt.Errorf("pvc %s is being deleted", claim.Name))
		}
	}
	return errors.Join(errs...)
}

// createPod creates pod's claims, then the pod, then sets the claims'
// owner references (they name the pod's UID).
func (c *Controller) createPod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	if err := c.createMissingClaims(ctx, set, pod); err != nil {
		c.recordPod("create", set, pod, err)
		return err
	}
	created, err := c.client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return err // the cache is behind; the next sync sees it
	}
	c.recordPod("create", set, pod, err)
	if err != nil {
		return fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if err := c.updateClaimsForRetention(ctx, set, created); err != nil {
		c.recordPod("update", set, created, err)
		return err
	}
	return nil
}

// deletePod deletes pod and records it.
func (c *Controller) deletePod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // already gone (or already replaced)
	}
	c.recordPod("delete", set, pod, err)
	if err != nil {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// claimsMatchRetention reports whether every existing claim of pod has
// the owner references its retention policy asks for.
func (c *Controller) claimsMatchRetention(set *appsv1.StatefulSet, pod *corev1.Pod) (bool, error) {
	for _, claim := range claimsFor(set, pod) {
		existing, err := c.pvcLister.PersistentVolumeClaims(claim.Namespace).Get(claim.Name)
		if apierrors.IsNotFound(err) {
			continue // not created yet: nothing to match
		}
		if err != nil {
			return false, fmt.Errorf("get pvc %s/%s: %w", claim.Namespace, claim.Name, err)
		}
		if !claimOwnerUpToDate(existing, set, pod) {
			return false, nil
		}
	}
	return true, nil
}

// updateClaimsForRetention rewrites the owner references of pod's
// claims as the retention policy asks.
func (c *Controller) updateClaimsForRetention(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	for _, claim := range claimsFor(set, pod) {
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			existing, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Get(ctx, claim.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if claimOwnerUpToDate(existing, set, pod) {
				return nil
			}
			updateClaimOwnerRefs(existing, set, pod)
			_, err = c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, existing, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("update owner references of pvc %s/%s: %w", claim.Namespace, claim.Name, err)
		}
	}
	return nil
}

// claimIsStale reports whether a claim of the not yet created pod still
// belongs to an earlier pod of that name (the garbage collector is about
// to delete it with a whenScaled=Delete policy): the pod must wait.
func (c *Controller) claimIsStale(set *appsv1.StatefulSet, pod *corev1.Pod) (bool, error) {
	if retentionPolicy(set).WhenScaled == appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		return false, nil
	}
	for _, claim := range claimsFor(set, pod) {
		existing, err := c.pvcLister.PersistentVolumeClaims(claim.Namespace).Get(claim.Name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("get pvc %s/%s: %w", claim.Namespace, claim.Name, err)
		}
		if hasStaleOwnerRef(existing, pod, podKind) {
			return true, nil
		}
	}
	return false, nil
}

// updatePod brings a live pod's identity, storage and claim references
// back in line with set (a user may have edited labels or volumes).
func (c *Controller) updatePod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	match, err := c.claimsMatchRetention(set, pod)
	if err != nil {
		return err
	}
	if !match {
		if err := c.updateClaimsForRetention(ctx, set, pod); err != nil {
			c.recordPod("update", set, pod, err)
			return err
		}
	}
	if identityMatches(set, pod) && storageMatches(set, pod) {
		return nil
	}
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if !identityMatches(set, pod) {
			updateIdentity(set, pod)
		}
		if !storageMatches(set, pod) {
			updateStorage(set, pod)
			if err := c.createMissingClaims(ctx, set, pod); err != nil {
				return err
			}
		}
		_, uerr := c.client.CoreV1().Pods(pod.Namespace).Update(ctx, pod, metav1.UpdateOptions{})
		if uerr != nil {
			if fresh, gerr := c.podLister.Pods(pod.Namespace).Get(pod.Name); gerr == nil {
				pod = fresh.DeepCopy()
			}
		}
		return uerr
	})
	c.recordPod("update", set, pod, err)
	return err
}
