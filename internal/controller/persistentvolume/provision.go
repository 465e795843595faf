package persistentvolume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// volumeName is the name of the volume provisioned for a claim, as
// upstream's provisioners name them; deterministic, so that a retried
// provisioning finds the volume of an earlier attempt.
func volumeName(claim *corev1.PersistentVolumeClaim) string {
	return "pvc-" + string(claim.UID)
}

// volumeDir is the directory of a provisioned volume. It is computed
// from the volume's name and never read from its spec, so that editing
// a volume's path cannot make the controller delete anything else.
func (c *Controller) volumeDir(name string) string {
	return filepath.Join(c.volumesDir, name)
}

// provision creates the directory and the volume of claim, then binds
// them.
func (c *Controller) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) error {
	request, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok || request.Sign() <= 0 {
		c.recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", "claim requests no storage (spec.resources.requests.storage)")
		return nil // the claim must change first
	}
	// Mark the claim as upstream does, so that users and tools see which
	// provisioner owns it.
	if claim.Annotations[annStorageProv] != Provisioner {
		claim = claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&claim.ObjectMeta, annStorageProv, Provisioner)
		metav1.SetMetaDataAnnotation(&claim.ObjectMeta, annBetaStorageProv, Provisioner)
		updated, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("annotate claim %s/%s: %w", claim.Namespace, claim.Name, err)
		}
		claim = updated
	}

	name := volumeName(claim)
	dir := c.volumeDir(name)
	if err := makeVolumeDir(dir); err != nil {
		c.recorder.Eventf(claim, corev1.EventTypeWarning, "ProvisioningFailed", "create directory %s: %v", dir, err)
		return err
	}
	vol, err := c.client.CoreV1().PersistentVolumes().Create(ctx, c.newVolume(name, dir, claim, class), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// An earlier attempt created it; bind that one if it is ours.
		vol, err = c.client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if err == nil && !boundToClaim(vol, claim) {
			return fmt.Errorf("volume %s exists for another claim", name)
		}
	}
	if err != nil {
		return fmt.Errorf("create volume %s for claim %s/%s: %w", name, claim.Namespace, claim.Name, err)
	}
	c.recorder.Eventf(claim, corev1.EventTypeNormal, "ProvisioningSucceeded", "Successfully provisioned volume %s", name)
	c.log.Info("provisioned", "claim", claim.Namespace+"/"+claim.Name, "volume", name, "dir", dir)
	return c.bind(ctx, vol, claim)
}

// makeVolumeDir creates dir world-writable, as local-path provisioners
// do, so that containers running as any user can write to it; the data
// directory above it keeps others out.
func makeVolumeDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return os.Chmod(dir, 0o777) // past the umask
}

// newVolume is the PersistentVolume provisioned for claim: a hostPath
// directory on this controller's node, pinned there by node affinity.
func (c *Controller) newVolume(name, dir string, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) *corev1.PersistentVolume {
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	modes := claim.Spec.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	hostPathType := corev1.HostPathDirectoryOrCreate
	vol := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				annProvisionedBy: Provisioner,
				annBoundByCtrl:   "yes",
			},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: claim.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   append([]corev1.PersistentVolumeAccessMode(nil), modes...),
			ClaimRef:                      claimRef(claim),
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    claim.Spec.VolumeMode,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hostPathType},
			},
		},
	}
	node := claim.Annotations[annSelectedNode]
	if node == "" {
		node = c.nodeName
	}
	if node != "" {
		vol.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node},
			}}}},
		}}
	}
	return vol
}
