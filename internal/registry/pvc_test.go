package registry_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/internal/registry"
)

func TestDefaultStorageClassAdmission(t *testing.T) {
	reg := newRegistry(t, "127.96.0.0/24")
	ctx := context.Background()
	classes := reg.Store(storagev1.SchemeGroupVersion.WithResource("storageclasses"))
	claims := reg.Store(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"))
	claim := func(name string, class *string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: class,
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}
	}
	// No default class: the claim keeps no class.
	out, err := claims.Create(ctx, claim("before", nil), registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.(*corev1.PersistentVolumeClaim).Spec.StorageClassName; c != nil {
		t.Fatalf("class %q without a default class", *c)
	}
	if _, err := classes.Create(ctx, &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "fast", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "example.org/fast",
	}, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err = claims.Create(ctx, claim("after", nil), registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.(*corev1.PersistentVolumeClaim).Spec.StorageClassName; c == nil || *c != "fast" {
		t.Fatalf("class %v, want fast", c)
	}
	// An explicit "" means "no class" and stays.
	empty := ""
	out, err = claims.Create(ctx, claim("none", &empty), registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.(*corev1.PersistentVolumeClaim).Spec.StorageClassName; c == nil || *c != "" {
		t.Fatalf("explicit empty class became %v", c)
	}
}
