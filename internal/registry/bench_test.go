package registry_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

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

// BenchmarkUpdatePodStatus is a kubelet's status write below HTTP: the
// pod turns Running and Ready, then back, each write a real change.
func BenchmarkUpdatePodStatus(b *testing.B) {
	reg := newRegistry(b, "127.96.0.0/16")
	pods := reg.Store(corev1.SchemeGroupVersion.WithResource("pods"))
	ctx := context.Background()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"app": "bench"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/web:1.0", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}}
	if _, err := pods.Create(ctx, p, registry.CreateOptions{FieldManager: "bench"}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		running := i%2 == 0
		_, _, err := pods.Update(ctx, "default", "p", func(cur runtime.Object) (runtime.Object, error) {
			pod := cur.(*corev1.Pod)
			now := metav1.Now()
			if running {
				pod.Status.Phase = corev1.PodRunning
				pod.Status.PodIP = "127.200.0.1"
				pod.Status.StartTime = &now
				pod.Status.Conditions = []corev1.PodCondition{
					{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
					{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
				}
			} else {
				pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: pod.Status.QOSClass}
			}
			return pod, nil
		}, registry.UpdateOptions{Subresource: "status", FieldManager: "kubelet"})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}
