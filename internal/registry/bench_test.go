package registry_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/internal/registry"
)

// BenchmarkCreatePod is the create path below HTTP: defaulting,
// validation, managedFields, protobuf and the etcd transaction.
func BenchmarkCreatePod(b *testing.B) {
	reg := newRegistry(b, "127.96.0.0/16")
	pods := reg.Store(corev1.SchemeGroupVersion.WithResource("pods"))
	ctx := context.Background()
	i := 0
	for b.Loop() {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%06d", i), Namespace: "default", Labels: map[string]string{"app": "bench"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/web:1.0", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}}
		if _, err := pods.Create(ctx, p, registry.CreateOptions{FieldManager: "bench"}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
