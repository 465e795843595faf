package persistentvolume

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
)

func pv(name, class, size string, phase corev1.PersistentVolumePhase, mods ...func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	v := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"tier": "fast"}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:         corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany},
			StorageClassName: class,
		},
		Status: corev1.PersistentVolumeStatus{Phase: phase},
	}
	for _, m := range mods {
		m(v)
	}
	return v
}

func pvc(class *string, size string, mods ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "data", UID: "uid-1"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	for _, m := range mods {
		m(c)
	}
	return c
}

func TestFindMatch(t *testing.T) {
	manual := "manual"
	avail := corev1.VolumeAvailable
	block := corev1.PersistentVolumeBlock
	refTo := func(name, uid string) func(*corev1.PersistentVolume) {
		return func(v *corev1.PersistentVolume) {
			v.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "ns", Name: name, UID: k8stypes.UID(uid)}
		}
	}
	tests := []struct {
		name  string
		claim *corev1.PersistentVolumeClaim
		vols  []*corev1.PersistentVolume
		want  string
	}{
		{"none", pvc(&manual, "1Gi"), nil, ""},
		{"smallest that fits", pvc(&manual, "1Gi"), []*corev1.PersistentVolume{
			pv("big", manual, "10Gi", avail), pv("small", manual, "500Mi", avail), pv("fits", manual, "2Gi", avail),
		}, "fits"},
		{"equal size, lowest name", pvc(&manual, "1Gi"), []*corev1.PersistentVolume{
			pv("b", manual, "1Gi", avail), pv("a", manual, "1Gi", avail),
		}, "a"},
		{"class must match", pvc(&manual, "1Gi"), []*corev1.PersistentVolume{pv("other", "fast", "1Gi", avail)}, ""},
		{"no class matches empty class", pvc(nil, "1Gi"), []*corev1.PersistentVolume{
			pv("classed", manual, "1Gi", avail), pv("plain", "", "1Gi", avail),
		}, "plain"},
		{"not available", pvc(&manual, "1Gi"), []*corev1.PersistentVolume{
			pv("released", manual, "1Gi", corev1.VolumeReleased), pv("pending", manual, "1Gi", corev1.VolumePending),
		}, ""},
		{"claimed by another", pvc(&manual, "1Gi"), []*corev1.PersistentVolume{pv("taken", manual, "1Gi", avail, refTo("other", ""))}, ""},
		{"access modes", pvc(&manual, "1Gi", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}), []*corev1.PersistentVolume{pv("rwo", manual, "1Gi", avail)}, ""},
		{"volume mode", pvc(&manual, "1Gi", func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeMode = &block }),
			[]*corev1.PersistentVolume{pv("fs", manual, "1Gi", avail)}, ""},
		{"selector", pvc(&manual, "1Gi", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "slow"}}
		}), []*corev1.PersistentVolume{pv("fast", manual, "1Gi", avail), pv("slow", manual, "5Gi", avail, func(v *corev1.PersistentVolume) {
			v.Labels = map[string]string{"tier": "slow"}
		})}, "slow"},
		{"pre-bound by name wins", pvc(&manual, "1Gi"), []*corev1.PersistentVolume{
			pv("free", manual, "1Gi", avail), pv("mine", "other-class", "5Gi", avail, refTo("data", "")),
		}, "mine"},
		{"pre-bound to an older claim of the same name", pvc(&manual, "1Gi"), []*corev1.PersistentVolume{
			pv("old", manual, "1Gi", corev1.VolumeReleased, refTo("data", "uid-0")),
		}, ""},
		{"pre-bound but too small", pvc(&manual, "1Gi"), []*corev1.PersistentVolume{pv("mine", manual, "1Mi", avail, refTo("data", "uid-1"))}, ""},
		{"being deleted", pvc(&manual, "1Gi"), []*corev1.PersistentVolume{pv("gone", manual, "1Gi", avail, func(v *corev1.PersistentVolume) {
			now := metav1.Now()
			v.DeletionTimestamp = &now
		})}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if v := findMatch(tt.claim, tt.vols); v != nil {
				got = v.Name
			}
			if got != tt.want {
				t.Errorf("findMatch = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPickDefault(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	class := func(name string, at time.Time, ann map[string]string) *storagev1.StorageClass {
		return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(at), Annotations: ann}}
	}
	def := map[string]string{annDefaultClass: "true"}
	tests := []struct {
		name    string
		classes []*storagev1.StorageClass
		want    string
	}{
		{"none", []*storagev1.StorageClass{class("a", t0, nil), class("b", t0, map[string]string{annDefaultClass: "false"})}, ""},
		{"one", []*storagev1.StorageClass{class("a", t0, nil), class("b", t0, def)}, "b"},
		{"beta annotation", []*storagev1.StorageClass{class("a", t0, map[string]string{annBetaDefaultClass: "true"})}, "a"},
		{"newest wins", []*storagev1.StorageClass{class("new", t0.Add(time.Hour), def), class("old", t0, def)}, "new"},
		{"tie by name", []*storagev1.StorageClass{class("z", t0, def), class("m", t0, def)}, "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if c := pickDefault(tt.classes); c != nil {
				got = c.Name
			}
			if got != tt.want {
				t.Errorf("pickDefault = %q, want %q", got, tt.want)
			}
		})
	}
}
