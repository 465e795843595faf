package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Sources gives Setup the API objects and pod fields volumes are made
// of. Getters return the API's NotFound error for a missing object.
type Sources struct {
	ConfigMap func(ns, name string) (*corev1.ConfigMap, error)
	Secret    func(ns, name string) (*corev1.Secret, error)
	PVC       func(ns, name string) (*corev1.PersistentVolumeClaim, error)
	PV        func(name string) (*corev1.PersistentVolume, error)
	// Field resolves a downward API field path other than
	// metadata.labels and metadata.annotations (which Setup formats from
	// the pod itself); Resource a resourceFieldRef.
	Field    func(path string) (string, error)
	Resource func(ref *corev1.ResourceFieldSelector) (string, error)
}

// MountError is a volume that cannot be set up (yet): the containers
// wait and the agent records a FailedMount event with its message.
type MountError struct {
	Volume string
	Err    error
}

func (e *MountError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}

func (e *MountError) Unwrap() error { return e.Err }

// Result is what Setup made.
type Result struct {
	// Paths maps each volume that is set up to its host path.
	Paths map[string]string
	// Warnings are parts of volumes that were skipped (a projected
	// serviceAccountToken), worth a Warning event.
	Warnings []string
}

// Setup makes (or refreshes) every volume of pod; dir is the pod's
// volumes directory. Volumes that fail are left out of the result's
// Paths and their errors, each a *MountError, are joined in err.
func Setup(pod *corev1.Pod, dir string, src Sources) (Result, error) {
	res := Result{Paths: map[string]string{}}
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		path, warns, err := setupOne(pod, v, filepath.Join(dir, v.Name), src)
		res.Warnings = append(res.Warnings, warns...)
		if err != nil {
			errs = append(errs, &MountError{Volume: v.Name, Err: err})
			continue
		}
		res.Paths[v.Name] = path
	}
	return res, errors.Join(errs...)
}

func setupOne(pod *corev1.Pod, v *corev1.Volume, dir string, src Sources) (string, []string, error) {
	s := &v.VolumeSource
	switch {
	case s.EmptyDir != nil:
		if err := emptyDir(dir); err != nil {
			return "", nil, err
		}
		if s.EmptyDir.Medium == corev1.StorageMediumMemory && os.Geteuid() == 0 {
			if err := mountTmpfs(dir, s.EmptyDir.SizeLimit); err != nil {
				// A plain directory still works; say why it is not memory.
				return dir, []string{fmt.Sprintf("emptyDir %q is a plain directory: %v", v.Name, err)}, nil
			}
		}
		return dir, nil, nil
	case s.HostPath != nil:
		return s.HostPath.Path, nil, checkHostPath(s.HostPath)
	case s.ConfigMap != nil, s.Secret != nil, s.DownwardAPI != nil, s.Projected != nil:
		payload, warns, err := buildPayload(pod, s, src)
		if err != nil {
			return "", warns, err
		}
		_, err = WritePayload(dir, payload)
		return dir, warns, err
	case s.PersistentVolumeClaim != nil:
		p, err := claimPath(pod.Namespace, s.PersistentVolumeClaim.ClaimName, src)
		return p, nil, err
	case s.Ephemeral != nil:
		// The ephemeral volume controller names the claim <pod>-<volume>.
		p, err := claimPath(pod.Namespace, pod.Name+"-"+v.Name, src)
		return p, nil, err
	}
	return "", nil, fmt.Errorf("volume type not supported by the process runtime (emptyDir, hostPath, configMap, secret, downwardAPI, projected, persistentVolumeClaim and ephemeral are)")
}

func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("emptyDir: %w", err)
	}
	// World-writable as with the kubelet, whatever the umask.
	if err := os.Chmod(dir, 0o777); err != nil {
		return fmt.Errorf("emptyDir: %w", err)
	}
	return nil
}

// checkHostPath checks (or makes) the host path as its type says.
func checkHostPath(h *corev1.HostPathVolumeSource) error {
	typ := corev1.HostPathUnset
	if h.Type != nil {
		typ = *h.Type
	}
	fi, err := os.Stat(h.Path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hostPath %s: %w", h.Path, err)
	}
	want := func(ok bool, what string) error {
		if !exists {
			return fmt.Errorf("hostPath type check failed: %s does not exist", h.Path)
		}
		if !ok {
			return fmt.Errorf("hostPath type check failed: %s is not a %s", h.Path, what)
		}
		return nil
	}
	switch typ {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(h.Path, 0o755); err != nil {
				return fmt.Errorf("hostPath %s: %w", h.Path, err)
			}
			return nil
		}
		return want(fi.IsDir(), "directory")
	case corev1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("hostPath %s: %w", h.Path, err)
			}
			return f.Close()
		}
		return want(fi.Mode().IsRegular(), "file")
	case corev1.HostPathDirectory:
		return want(exists && fi.IsDir(), "directory")
	case corev1.HostPathFile:
		return want(exists && fi.Mode().IsRegular(), "file")
	case corev1.HostPathSocket:
		return want(exists && fi.Mode()&fs.ModeSocket != 0, "socket")
	case corev1.HostPathCharDev:
		return want(exists && fi.Mode()&fs.ModeCharDevice != 0, "character device")
	case corev1.HostPathBlockDev:
		return want(exists && fi.Mode()&fs.ModeDevice != 0 && fi.Mode()&fs.ModeCharDevice == 0, "block device")
	}
	return fmt.Errorf("hostPath %s: unknown type %q", h.Path, typ)
}

// claimPath finds the directory of the PersistentVolume bound to a claim.
func claimPath(ns, claim string, src Sources) (string, error) {
	pvc, err := src.PVC(ns, claim)
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("persistentvolumeclaim %q not found", claim)
	}
	if err != nil {
		return "", fmt.Errorf("get persistentvolumeclaim %s/%s: %w", ns, claim, err)
	}
	if pvc.Spec.VolumeName == "" || pvc.Status.Phase != corev1.ClaimBound {
		return "", fmt.Errorf("error processing PVC %s/%s: PVC is not bound", ns, claim)
	}
	pv, err := src.PV(pvc.Spec.VolumeName)
	if err != nil {
		return "", fmt.Errorf("get persistentvolume %q: %w", pvc.Spec.VolumeName, err)
	}
	switch {
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path, nil
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path, checkHostPath(pv.Spec.HostPath)
	}
	return "", fmt.Errorf("persistentvolume %q: only local and hostPath volumes can be used by the process runtime", pv.Name)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
