package persistentvolume_test

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	. "github.com/skiff-dev/skiff/internal/controller/persistentvolume"
)

// TestStorage runs the storage scenarios one after another against one
// API server (starting one is the expensive part).
func TestStorage(t *testing.T) {
	e := newEnv(t)
	stop := e.run()

	t.Run("default class created", func(t *testing.T) {
		e.t = t
		var class *storagev1.StorageClass
		e.eventually("class local-path", func() (bool, string) {
			var err error
			class, err = e.client.StorageV1().StorageClasses().Get(e.ctx, DefaultClassName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return true, ""
		})
		if class.Provisioner != Provisioner || class.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" ||
			class.ReclaimPolicy == nil || *class.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
			class.VolumeBindingMode == nil || *class.VolumeBindingMode != storagev1.VolumeBindingImmediate {
			t.Errorf("class = %+v", class)
		}
	})

	t.Run("provisioned and bound, file survives restart, delete reclaims", func(t *testing.T) {
		e.t = t
		created := e.createClaim("data", nil, "1Gi")
		claim, vol := e.bound("data")

		if claim.Spec.StorageClassName == nil || *claim.Spec.StorageClassName != DefaultClassName {
			t.Errorf("claim class = %v, want the default", claim.Spec.StorageClassName)
		}
		name := "pvc-" + string(created.UID)
		if claim.Spec.VolumeName != name {
			t.Errorf("claim volumeName = %q, want %q", claim.Spec.VolumeName, name)
		}
		for _, ann := range []string{"pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller"} {
			if claim.Annotations[ann] != "yes" {
				t.Errorf("claim annotation %s = %q, want yes", ann, claim.Annotations[ann])
			}
		}
		if claim.Annotations["volume.kubernetes.io/storage-provisioner"] != Provisioner {
			t.Errorf("claim storage-provisioner = %q", claim.Annotations["volume.kubernetes.io/storage-provisioner"])
		}
		if got := claim.Status.Capacity[corev1.ResourceStorage]; got.Cmp(resource.MustParse("1Gi")) != 0 {
			t.Errorf("claim status capacity = %s, want 1Gi", got.String())
		}
		if len(claim.Status.AccessModes) != 1 || claim.Status.AccessModes[0] != corev1.ReadWriteOnce {
			t.Errorf("claim status accessModes = %v", claim.Status.AccessModes)
		}

		dir := filepath.Join(e.volumesDir, name)
		ref := vol.Spec.ClaimRef
		switch {
		case ref == nil || ref.Namespace != "default" || ref.Name != "data" || ref.UID != created.UID || ref.Kind != "PersistentVolumeClaim":
			t.Errorf("volume claimRef = %+v", ref)
		case vol.Annotations["pv.kubernetes.io/provisioned-by"] != Provisioner:
			t.Errorf("volume provisioned-by = %q", vol.Annotations["pv.kubernetes.io/provisioned-by"])
		case vol.Annotations["pv.kubernetes.io/bound-by-controller"] != "yes":
			t.Errorf("volume bound-by-controller = %q", vol.Annotations["pv.kubernetes.io/bound-by-controller"])
		case vol.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || vol.Spec.StorageClassName != DefaultClassName:
			t.Errorf("volume reclaim %q class %q", vol.Spec.PersistentVolumeReclaimPolicy, vol.Spec.StorageClassName)
		case vol.Spec.HostPath == nil || vol.Spec.HostPath.Path != dir:
			t.Errorf("volume source = %+v, want hostPath %s", vol.Spec.PersistentVolumeSource, dir)
		case len(vol.Spec.AccessModes) != 1 || vol.Spec.AccessModes[0] != corev1.ReadWriteOnce:
			t.Errorf("volume accessModes = %v", vol.Spec.AccessModes)
		case vol.Spec.NodeAffinity == nil || vol.Spec.NodeAffinity.Required == nil ||
			vol.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values[0] != node:
			t.Errorf("volume nodeAffinity = %+v", vol.Spec.NodeAffinity)
		}
		if got := vol.Spec.Capacity[corev1.ResourceStorage]; got.Cmp(resource.MustParse("1Gi")) != 0 {
			t.Errorf("volume capacity = %s, want 1Gi", got.String())
		}

		file := filepath.Join(dir, "hello.txt")
		if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
			t.Fatalf("write into the volume: %v", err)
		}
		// A restarted controller finds the binding done and leaves the
		// volume and its data alone.
		stop()
		e.run()
		claim2, vol2 := e.bound("data")
		if claim2.Spec.VolumeName != name || vol2.UID != vol.UID {
			t.Errorf("after restart: claim volumeName %q, volume uid %s (was %s)", claim2.Spec.VolumeName, vol2.UID, vol.UID)
		}
		if b, err := os.ReadFile(file); err != nil || string(b) != "hello" {
			t.Errorf("file after restart = %q, %v", b, err)
		}

		e.deleteClaim("data")
		e.volumeGone(name)
		e.eventually("directory removed", func() (bool, string) { return !exists(dir), dir + " still exists" })
	})

	t.Run("retain keeps volume and directory", func(t *testing.T) {
		e.t = t
		e.createClass("keep", corev1.PersistentVolumeReclaimRetain)
		e.createClaim("kept", ptr("keep"), "64Mi")
		_, vol := e.bound("kept")
		if vol.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
			t.Errorf("reclaim policy = %q, want Retain", vol.Spec.PersistentVolumeReclaimPolicy)
		}
		file := filepath.Join(e.volumesDir, vol.Name, "keep.txt")
		if err := os.WriteFile(file, []byte("kept"), 0o644); err != nil {
			t.Fatal(err)
		}
		e.deleteClaim("kept")
		e.volumePhase(vol.Name, corev1.VolumeReleased)
		if b, err := os.ReadFile(file); err != nil || string(b) != "kept" {
			t.Errorf("file after release = %q, %v", b, err)
		}
	})

	t.Run("pre-created volume bound", func(t *testing.T) {
		e.t = t
		mk := func(name, size string, labels map[string]string) {
			vol := &corev1.PersistentVolume{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
				Spec: corev1.PersistentVolumeSpec{
					Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
					AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName:              "manual",
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
					PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: t.TempDir()}},
				},
			}
			if _, err := e.client.CoreV1().PersistentVolumes().Create(e.ctx, vol, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		mk("manual-small", "100Mi", map[string]string{"disk": "ssd"})
		mk("manual-wrong-label", "2Gi", map[string]string{"disk": "hdd"})
		mk("manual-fits", "2Gi", map[string]string{"disk": "ssd"})
		mk("manual-too-big", "5Gi", map[string]string{"disk": "ssd"})
		e.volumePhase("manual-fits", corev1.VolumeAvailable)

		created := e.createClaim("manual", ptr("manual"), "1Gi", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"disk": "ssd"}}
		})
		claim, vol := e.bound("manual")
		if vol.Name != "manual-fits" {
			t.Fatalf("claim bound to %s, want manual-fits", vol.Name)
		}
		if vol.Spec.ClaimRef == nil || vol.Spec.ClaimRef.UID != created.UID || vol.Annotations["pv.kubernetes.io/bound-by-controller"] != "yes" {
			t.Errorf("volume claimRef %+v, annotations %v", vol.Spec.ClaimRef, vol.Annotations)
		}
		if got := claim.Status.Capacity[corev1.ResourceStorage]; got.Cmp(resource.MustParse("2Gi")) != 0 {
			t.Errorf("claim capacity = %s, want the volume's 2Gi", got.String())
		}
		if claim.Annotations["pv.kubernetes.io/bind-completed"] != "yes" || claim.Annotations["pv.kubernetes.io/bound-by-controller"] != "yes" {
			t.Errorf("claim annotations %v", claim.Annotations)
		}
		// Nothing provisioned for a class without a provisioner.
		if entries, _ := os.ReadDir(e.volumesDir); len(entries) != 1 { // the retained volume only
			t.Errorf("volumes dir holds %d entries, want 1", len(entries))
		}
	})

	t.Run("user pre-bound claim", func(t *testing.T) {
		e.t = t
		vol := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "chosen"},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName:       "manual",
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: t.TempDir()}},
			},
		}
		if _, err := e.client.CoreV1().PersistentVolumes().Create(e.ctx, vol, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.createClaim("chooser", ptr("manual"), "1Gi", func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "chosen" })
		claim, got := e.bound("chooser")
		if got.Name != "chosen" || claim.Annotations["pv.kubernetes.io/bound-by-controller"] != "" {
			t.Errorf("bound to %s, claim annotations %v (no bound-by-controller for a user's choice)", got.Name, claim.Annotations)
		}
	})

	t.Run("wait for first consumer", func(t *testing.T) {
		e.t = t
		mode := storagev1.VolumeBindingWaitForFirstConsumer
		class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "wait"}, Provisioner: Provisioner, VolumeBindingMode: &mode}
		if _, err := e.client.StorageV1().StorageClasses().Create(e.ctx, class, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.createClaim("late", ptr("wait"), "1Mi")
		e.eventually("WaitForFirstConsumer event", func() (bool, string) {
			events, err := e.client.CoreV1().Events("default").List(e.ctx, metav1.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, ev := range events.Items {
				if ev.InvolvedObject.Name == "late" && ev.Reason == "WaitForFirstConsumer" {
					return true, ""
				}
			}
			return false, "no event"
		})
		if claim, err := e.client.CoreV1().PersistentVolumeClaims("default").Get(e.ctx, "late", metav1.GetOptions{}); err != nil || claim.Spec.VolumeName != "" {
			t.Fatalf("claim bound before any consumer: %v %v", claim.Spec.VolumeName, err)
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "consumer"},
			Spec: corev1.PodSpec{
				NodeName:   "other-node",
				Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
				Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "late"},
				}}},
			},
		}
		if _, err := e.client.CoreV1().Pods("default").Create(e.ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		claim, vol := e.bound("late")
		if claim.Annotations["volume.kubernetes.io/selected-node"] != "other-node" {
			t.Errorf("selected-node = %q", claim.Annotations["volume.kubernetes.io/selected-node"])
		}
		if vol.Spec.NodeAffinity == nil || vol.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values[0] != "other-node" {
			t.Errorf("volume nodeAffinity = %+v", vol.Spec.NodeAffinity)
		}
	})

	t.Run("bound claim loses its volume", func(t *testing.T) {
		e.t = t
		e.createClaim("orphan", ptr("keep"), "1Mi")
		_, vol := e.bound("orphan")
		if err := e.client.CoreV1().PersistentVolumes().Delete(e.ctx, vol.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("claim Lost", func() (bool, string) {
			claim, err := e.client.CoreV1().PersistentVolumeClaims("default").Get(e.ctx, "orphan", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return claim.Status.Phase == corev1.ClaimLost, "phase " + string(claim.Status.Phase)
		})
	})
}

// TestExistingClassKept: a user's local-path class is not overwritten and
// no second default is made.
func TestExistingClassKept(t *testing.T) {
	e := newEnv(t)
	retain := corev1.PersistentVolumeReclaimRetain
	user := &storagev1.StorageClass{
		ObjectMeta:    metav1.ObjectMeta{Name: DefaultClassName, Labels: map[string]string{"owner": "me"}},
		Provisioner:   Provisioner,
		ReclaimPolicy: &retain,
	}
	if _, err := e.client.StorageV1().StorageClasses().Create(e.ctx, user, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.run()
	// The claim's sync happens after Run's class check: once it is
	// provisioned, the check is over.
	e.createClaim("x", ptr(DefaultClassName), "1Mi")
	_, vol := e.bound("x")
	if vol.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Errorf("volume reclaim policy %q, want the user's Retain", vol.Spec.PersistentVolumeReclaimPolicy)
	}
	class, err := e.client.StorageV1().StorageClasses().Get(e.ctx, DefaultClassName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if class.Labels["owner"] != "me" || class.Annotations["storageclass.kubernetes.io/is-default-class"] != "" || *class.ReclaimPolicy != retain {
		t.Errorf("class changed: %+v", class)
	}
}
