package registry_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-dev/skiff/internal/registry"
)

// TestCreateFieldsMemo: pods created alike get, from the memo, the
// managedFields the field manager computes for each; pods that differ in
// any recorded field get their own.
func TestCreateFieldsMemo(t *testing.T) {
	reg := newRegistry(t, "127.96.0.0/16")
	pods := reg.Store(corev1.SchemeGroupVersion.WithResource("pods"))
	ctx := context.Background()

	template := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "web-", Namespace: "default",
				Labels: map[string]string{"app": "web", "pod-template-hash": "5d4f8"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d4f8",
					UID: "0b6c7c1e-55a8-4d7e-9a39-2a8f3d1d0c11", Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "web", Image: "registry.example/web:1.0",
				Ports:          []corev1.ContainerPort{{ContainerPort: 8080}, {ContainerPort: 9090, Protocol: corev1.ProtocolUDP}},
				Env:            []corev1.EnvVar{{Name: "MODE", Value: "fast"}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}},
			}}},
		}
	}
	variants := map[string]func(p *corev1.Pod){
		"same template":    func(p *corev1.Pod) {},
		"one more label":   func(p *corev1.Pod) { p.Labels["tier"] = "front" },
		"another env name": func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Name = "SPEED" },
		"another port":     func(p *corev1.Pod) { p.Spec.Containers[0].Ports[1].ContainerPort = 9091 },
		"no probe":         func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = nil },
		"named":            func(p *corev1.Pod) { p.GenerateName, p.Name = "", "named" },
		"empty env value":  func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Value = "" },
	}
	// The first create computes and remembers; each variant then runs twice
	// so that its second create is answered by the memo when the key
	// matches.
	if _, err := pods.Create(ctx, template(), registry.CreateOptions{FieldManager: "kube-controller-manager"}); err != nil {
		t.Fatal(err)
	}
	for name, change := range variants {
		for round := 0; round < 2; round++ {
			p := template()
			change(p)
			if p.Name != "" {
				p.Name += string(rune('a' + round))
			}
			hits := registry.CreateFieldsHits(pods)
			created, err := pods.Create(ctx, p, registry.CreateOptions{FieldManager: "kube-controller-manager"})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			// The template itself and every variant's second create come
			// from the memo; a variant's first create is computed.
			if hit := registry.CreateFieldsHits(pods) > hits; hit != (round == 1 || name == "same template") {
				t.Errorf("%s (round %d): answered from the memo: %v", name, round, hit)
			}
			got := created.(*corev1.Pod).ManagedFields
			want := computedCreateFields(t, pods, created.(*corev1.Pod), "kube-controller-manager")
			if len(got) != 1 || len(want) != 1 {
				t.Fatalf("%s: managedFields %d entries, computed %d; want 1", name, len(got), len(want))
			}
			if got[0].Time == nil {
				t.Errorf("%s: entry without a time", name)
			}
			got[0].Time, want[0].Time = nil, nil
			if !apiequality.Semantic.DeepEqual(got[0], want[0]) {
				t.Errorf("%s (round %d): managedFields\n%s\nwant (computed)\n%s", name, round, got[0].FieldsV1.Raw, want[0].FieldsV1.Raw)
			}
		}
	}
	// Another manager creating the same template owns the same fields under
	// its own name.
	created, err := pods.Create(ctx, template(), registry.CreateOptions{FieldManager: "kubectl-create"})
	if err != nil {
		t.Fatal(err)
	}
	if m := created.(*corev1.Pod).ManagedFields; len(m) != 1 || m[0].Manager != "kubectl-create" {
		t.Errorf("managedFields of another manager: %+v", m)
	}
}

// computedCreateFields runs the field manager itself over what was stored.
func computedCreateFields(t *testing.T, pods *registry.Store, stored *corev1.Pod, manager string) []metav1.ManagedFieldsEntry {
	t.Helper()
	in := stored.DeepCopy()
	in.ManagedFields = nil
	out, err := pods.FieldManager("").Update(&corev1.Pod{}, in, manager)
	if err != nil {
		t.Fatal(err)
	}
	return out.(*corev1.Pod).ManagedFields
}

func ptr[T any](v T) *T { return &v }
