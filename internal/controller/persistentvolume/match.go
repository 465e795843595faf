package persistentvolume

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// boundToClaim reports whether vol's claimRef names claim: same
// namespace and name, and the same UID unless the ref has none (a volume
// pre-bound by a user to a claim by name).
func boundToClaim(vol *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) bool {
	ref := vol.Spec.ClaimRef
	if ref == nil || ref.Namespace != claim.Namespace || ref.Name != claim.Name {
		return false
	}
	return ref.UID == "" || ref.UID == claim.UID
}

// findMatch returns the volume claim should bind to, nil if none fits,
// following upstream's FindMatchingVolume: a volume pre-bound to the
// claim wins; otherwise the smallest Available, unclaimed volume of the
// claim's class with enough capacity, every requested access mode, the
// same volume mode and labels matching the claim's selector.
func findMatch(claim *corev1.PersistentVolumeClaim, volumes []*corev1.PersistentVolume) *corev1.PersistentVolume {
	request := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	var selector labels.Selector
	if claim.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(claim.Spec.Selector)
		if err != nil {
			return nil // an invalid selector matches nothing
		}
		selector = s
	}
	var best *corev1.PersistentVolume
	for _, vol := range volumes {
		if vol.DeletionTimestamp != nil {
			continue
		}
		capacity := vol.Spec.Capacity[corev1.ResourceStorage]
		if capacity.Cmp(request) < 0 || volumeMode(vol.Spec.VolumeMode) != volumeMode(claim.Spec.VolumeMode) {
			continue
		}
		if boundToClaim(vol, claim) {
			// Pre-bound by the user: honoured as upstream does, without
			// the class, selector or access mode checks.
			return vol
		}
		if vol.Spec.ClaimRef != nil || vol.Status.Phase != corev1.VolumeAvailable {
			continue
		}
		if vol.Spec.StorageClassName != claimClass(claim) || !hasAccessModes(vol.Spec.AccessModes, claim.Spec.AccessModes) {
			continue
		}
		if selector != nil && !selector.Matches(labels.Set(vol.Labels)) {
			continue
		}
		if best == nil {
			best = vol
			continue
		}
		bestCap := best.Spec.Capacity[corev1.ResourceStorage]
		if c := capacity.Cmp(bestCap); c < 0 || c == 0 && vol.Name < best.Name {
			best = vol
		}
	}
	return best
}

func volumeMode(m *corev1.PersistentVolumeMode) corev1.PersistentVolumeMode {
	if m == nil {
		return corev1.PersistentVolumeFilesystem
	}
	return *m
}

// hasAccessModes reports whether have includes every mode of want.
func hasAccessModes(have, want []corev1.PersistentVolumeAccessMode) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
