package persistentvolume

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// claimRef is the reference a volume keeps to its claim.
func claimRef(claim *corev1.PersistentVolumeClaim) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		Kind:            "PersistentVolumeClaim",
		APIVersion:      "v1",
		Namespace:       claim.Namespace,
		Name:            claim.Name,
		UID:             claim.UID,
		ResourceVersion: claim.ResourceVersion,
	}
}

// bind binds vol and claim to each other in upstream's order, each step
// skipped when already done, so that a bind interrupted at any point is
// finished by the next sync of either object:
//  1. vol.spec.claimRef (bound-by-controller on the volume if this
//     controller chose it);
//  2. vol.status.phase Bound;
//  3. claim.spec.volumeName, bind-completed (and bound-by-controller if
//     the user did not pre-bind the claim);
//  4. claim.status: phase Bound, capacity and access modes of the volume.
func (c *Controller) bind(ctx context.Context, vol *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	vols := c.client.CoreV1().PersistentVolumes()
	claims := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace)
	volName, claimKey := vol.Name, claim.Namespace+"/"+claim.Name
	var err error

	if ref := vol.Spec.ClaimRef; ref == nil || ref.UID != claim.UID || ref.Namespace != claim.Namespace || ref.Name != claim.Name {
		vol = vol.DeepCopy()
		if ref == nil {
			metav1.SetMetaDataAnnotation(&vol.ObjectMeta, annBoundByCtrl, "yes")
		}
		vol.Spec.ClaimRef = claimRef(claim)
		if vol, err = vols.Update(ctx, vol, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("bind volume %s to claim %s: %w", volName, claimKey, err)
		}
	}
	if vol.Status.Phase != corev1.VolumeBound {
		vol = vol.DeepCopy()
		now := metav1.Now()
		vol.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound, LastPhaseTransitionTime: &now}
		if vol, err = vols.UpdateStatus(ctx, vol, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("set volume %s bound: %w", volName, err)
		}
	}
	if claim.Spec.VolumeName != vol.Name || claim.Annotations[annBindCompleted] != "yes" {
		claim = claim.DeepCopy()
		if claim.Spec.VolumeName != vol.Name {
			claim.Spec.VolumeName = vol.Name
			metav1.SetMetaDataAnnotation(&claim.ObjectMeta, annBoundByCtrl, "yes")
		}
		metav1.SetMetaDataAnnotation(&claim.ObjectMeta, annBindCompleted, "yes")
		if claim, err = claims.Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("bind claim %s to volume %s: %w", claimKey, volName, err)
		}
	}
	if claim.Status.Phase != corev1.ClaimBound ||
		!equality.Semantic.DeepEqual(claim.Status.Capacity, vol.Spec.Capacity) ||
		!equality.Semantic.DeepEqual(claim.Status.AccessModes, vol.Spec.AccessModes) {
		claim = claim.DeepCopy()
		claim.Status.Phase = corev1.ClaimBound
		claim.Status.Capacity = vol.Spec.Capacity.DeepCopy()
		claim.Status.AccessModes = append([]corev1.PersistentVolumeAccessMode(nil), vol.Spec.AccessModes...)
		if _, err = claims.UpdateStatus(ctx, claim, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("set claim %s bound: %w", claimKey, err)
		}
		c.log.Info("bound", "claim", claimKey, "volume", volName)
	}
	return nil
}
