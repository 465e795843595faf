package persistentvolume

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// syncVolume keeps one volume's phase in step with its claim and
// reclaims it when the claim is gone.
func (c *Controller) syncVolume(ctx context.Context, name string) error {
	vol, err := c.volLister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if vol.DeletionTimestamp != nil {
		return nil
	}
	ref := vol.Spec.ClaimRef
	if ref == nil {
		return c.setVolumePhase(ctx, vol, corev1.VolumeAvailable, "")
	}
	if ref.UID == "" {
		// Pre-bound by a user to a claim by name: available to it alone;
		// the claim's sync binds it.
		c.enqueueClaim(ref.Namespace, ref.Name)
		return c.setVolumePhase(ctx, vol, corev1.VolumeAvailable, "")
	}
	claim, err := c.claimLister.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if apierrors.IsNotFound(err) || err == nil && claim.UID != ref.UID {
		// The cache may lag behind a claim just created: releasing is
		// not undone, so ask the API before deciding the claim is gone.
		claim, err = c.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err) || err == nil && claim.UID != ref.UID:
		return c.release(ctx, vol)
	case err != nil:
		return err
	case claim.Spec.VolumeName == vol.Name:
		return c.setVolumePhase(ctx, vol, corev1.VolumeBound, "")
	case claim.Spec.VolumeName == "":
		return nil // binding in progress; the claim's sync finishes it
	case vol.Annotations[annProvisionedBy] == Provisioner:
		// Provisioned for a claim that got bound elsewhere: nobody else
		// will use it (upstream treats it as released, too).
		return c.release(ctx, vol)
	case vol.Annotations[annBoundByCtrl] == "yes":
		// This controller chose the volume but the claim went elsewhere:
		// free it again.
		vol = vol.DeepCopy()
		vol.Spec.ClaimRef = nil
		delete(vol.Annotations, annBoundByCtrl)
		if _, err := c.client.CoreV1().PersistentVolumes().Update(ctx, vol, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("unbind volume %s: %w", vol.Name, err)
		}
		return nil
	default:
		return nil // pre-bound by a user to a claim bound elsewhere
	}
}

// release marks vol Released and applies its reclaim policy.
func (c *Controller) release(ctx context.Context, vol *corev1.PersistentVolume) error {
	if vol.Status.Phase == corev1.VolumeFailed {
		return nil // reported; a user has to act
	}
	if vol.Status.Phase != corev1.VolumeReleased {
		if err := c.setVolumePhase(ctx, vol, corev1.VolumeReleased, ""); err != nil {
			return err
		}
		c.log.Info("released", "volume", vol.Name, "reclaimPolicy", vol.Spec.PersistentVolumeReclaimPolicy)
		return nil // the status event syncs the volume again
	}
	switch vol.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimRetain:
		return nil // kept with its data until a user deletes it or clears claimRef
	case corev1.PersistentVolumeReclaimDelete:
		if vol.Annotations[annProvisionedBy] != Provisioner {
			msg := fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", vol.Name)
			c.recorder.Event(vol, corev1.EventTypeWarning, "VolumeFailedDelete", msg)
			return c.setVolumePhase(ctx, vol, corev1.VolumeFailed, msg)
		}
		return c.deleteVolume(ctx, vol)
	default: // Recycle, deprecated upstream and not offered here
		msg := fmt.Sprintf("recycling volume %q is not supported", vol.Name)
		c.recorder.Event(vol, corev1.EventTypeWarning, "VolumeFailedRecycle", msg)
		return c.setVolumePhase(ctx, vol, corev1.VolumeFailed, msg)
	}
}

// deleteVolume removes the directory of a provisioned volume, then the
// volume object; a failure leaves the volume Released to be retried.
func (c *Controller) deleteVolume(ctx context.Context, vol *corev1.PersistentVolume) error {
	dir := c.volumeDir(vol.Name)
	if err := os.RemoveAll(dir); err != nil {
		c.recorder.Eventf(vol, corev1.EventTypeWarning, "VolumeFailedDelete", "remove %s: %v", dir, err)
		return fmt.Errorf("remove directory of volume %s: %w", vol.Name, err)
	}
	uid := vol.UID
	err := c.client.CoreV1().PersistentVolumes().Delete(ctx, vol.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete volume %s: %w", vol.Name, err)
	}
	c.log.Info("deleted", "volume", vol.Name, "dir", dir)
	return nil
}

func (c *Controller) setVolumePhase(ctx context.Context, vol *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, message string) error {
	if vol.Status.Phase == phase && vol.Status.Message == message {
		return nil
	}
	vol = vol.DeepCopy()
	vol.Status.Phase = phase
	vol.Status.Message = message
	vol.Status.Reason = ""
	now := metav1.Now()
	vol.Status.LastPhaseTransitionTime = &now
	if _, err := c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, vol, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set phase of volume %s to %s: %w", vol.Name, phase, err)
	}
	return nil
}
