package persistentvolume

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// syncClaim brings one claim closer to Bound: default class, binding to
// an existing volume, provisioning, or completing a half-done binding.
func (c *Controller) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key we queued; nothing to retry
	}
	claim, err := c.claimLister.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil // its volume's sync releases the volume
	}
	if err != nil {
		return err
	}
	if claim.DeletionTimestamp != nil {
		return nil
	}
	if claim.Spec.VolumeName == "" {
		return c.syncUnboundClaim(ctx, claim)
	}
	return c.syncBoundClaim(ctx, claim)
}

func (c *Controller) syncUnboundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	if claim.Spec.StorageClassName == nil {
		// Upstream's DefaultStorageClass admission plugin sets the class
		// at create time, and its PV controller sets it afterwards on
		// unbound claims without one (retroactive default class). skiff's
		// API server has no such plugin yet, so this is the only place.
		if def := c.defaultClassName(); def != "" {
			claim = claim.DeepCopy()
			claim.Spec.StorageClassName = &def
			if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("set default class of claim %s/%s: %w", claim.Namespace, claim.Name, err)
			}
			return nil // the update event syncs the claim again
		}
	}
	class := c.classOf(claimClass(claim))
	delayed := class != nil && class.VolumeBindingMode != nil &&
		*class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer &&
		claim.Annotations[annSelectedNode] == ""

	vols, err := c.volLister.List(labels.Everything())
	if err != nil {
		return err
	}
	if vol := findMatch(claim, vols); vol != nil && (!delayed || boundToClaim(vol, claim)) {
		return c.bind(ctx, vol, claim)
	}
	switch {
	case class == nil:
		c.recorder.Event(claim, corev1.EventTypeNormal, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
		return nil
	case class.Provisioner != Provisioner:
		c.recorder.Eventf(claim, corev1.EventTypeNormal, "ExternalProvisioning",
			"Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator", class.Provisioner)
		return nil
	case delayed:
		// Upstream's scheduler sets selected-node before it binds the
		// first pod using the claim; skiff's scheduler does not look at
		// claims, so the node of the first placed pod is taken instead.
		if node := c.consumerNode(claim); node != "" {
			claim = claim.DeepCopy()
			metav1.SetMetaDataAnnotation(&claim.ObjectMeta, annSelectedNode, node)
			if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("select node of claim %s/%s: %w", claim.Namespace, claim.Name, err)
			}
			return nil // the update event syncs the claim again
		}
		c.recorder.Event(claim, corev1.EventTypeNormal, "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
		return nil
	}
	return c.provision(ctx, claim, class)
}

// syncBoundClaim handles a claim with spec.volumeName: pre-bound by a
// user, or bound by this controller with steps left to do.
func (c *Controller) syncBoundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	vol, err := c.volLister.Get(claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		// The cache may lag behind a volume just created: ask the API.
		vol, err = c.client.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		if claim.Status.Phase == corev1.ClaimBound {
			c.recorder.Event(claim, corev1.EventTypeWarning, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
			return c.setClaimPhase(ctx, claim, corev1.ClaimLost)
		}
		return nil // pre-bound to a volume that does not exist yet
	}
	if err != nil {
		return err
	}
	switch {
	case vol.Spec.ClaimRef == nil || boundToClaim(vol, claim):
		if vol.Spec.ClaimRef == nil {
			// Pre-bound by the user to a free volume: check it fits.
			capacity, request := vol.Spec.Capacity[corev1.ResourceStorage], claim.Spec.Resources.Requests[corev1.ResourceStorage]
			if capacity.Cmp(request) < 0 || claimClass(claim) != vol.Spec.StorageClassName {
				c.recorder.Eventf(claim, corev1.EventTypeWarning, "VolumeMismatch", "Cannot bind to requested volume %q: requested PV is too small or of another storage class", vol.Name)
				return nil
			}
		}
		return c.bind(ctx, vol, claim)
	case claim.Status.Phase == corev1.ClaimBound:
		c.recorder.Event(claim, corev1.EventTypeWarning, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly")
		return c.setClaimPhase(ctx, claim, corev1.ClaimLost)
	default:
		return nil // the volume belongs to another claim; wait
	}
}

func (c *Controller) setClaimPhase(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase) error {
	if claim.Status.Phase == phase {
		return nil
	}
	claim = claim.DeepCopy()
	claim.Status.Phase = phase
	if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).UpdateStatus(ctx, claim, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set phase of claim %s/%s to %s: %w", claim.Namespace, claim.Name, phase, err)
	}
	return nil
}

// consumerNode returns the node of a live pod placed on a node that uses
// claim ("" if none), the oldest first so that the choice is stable.
func (c *Controller) consumerNode(claim *corev1.PersistentVolumeClaim) string {
	pods, err := c.podLister.Pods(claim.Namespace).List(labels.Everything())
	if err != nil {
		return ""
	}
	var first *corev1.Pod
	for _, pod := range pods {
		if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil ||
			pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || !usesClaim(pod, claim.Name) {
			continue
		}
		if first == nil || pod.CreationTimestamp.Before(&first.CreationTimestamp) {
			first = pod
		}
	}
	if first == nil {
		return ""
	}
	return first.Spec.NodeName
}

func usesClaim(pod *corev1.Pod, claimName string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claimName {
			return true
		}
	}
	return false
}
