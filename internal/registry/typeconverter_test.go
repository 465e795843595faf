package registry

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
)

// The unvalidated conversion gives the field managers the same answers as
// the base converter: managedFields of creates, updates and status writes
// of several kinds compare equal, entry by entry.
func TestGoTypeConverterKeepsManagedFields(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	base := applyconfigurations.NewTypeConverter(scheme)
	fast := newGoTypeConverter(base, scheme)
	managers := func(tc managedfields.TypeConverter, gvk schema.GroupVersionKind, sub string) *managedfields.FieldManager {
		m, err := managedfields.NewDefaultFieldManager(tc, scheme, scheme, scheme, gvk, gvk.GroupVersion(), sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	podGVK := corev1.SchemeGroupVersion.WithKind("Pod")
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1",
			Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
			Env:   []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}}}}}
	relabelled := pod.DeepCopy()
	relabelled.Labels["tier"] = "front"
	relabelled.Spec.Containers[0].Env = relabelled.Spec.Containers[0].Env[1:]
	running := pod.DeepCopy()
	now := metav1.Now()
	running.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.200.0.1", StartTime: &now,
		Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: true, RestartCount: 2}}}
	replicas := int32(3)
	deployGVK := appsv1.SchemeGroupVersion.WithKind("Deployment")
	deploy := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: pod.Spec}}}
	scaled := deploy.DeepCopy()
	five := int32(5)
	scaled.Spec.Replicas = &five

	for _, c := range []struct {
		name          string
		gvk           schema.GroupVersionKind
		sub           string
		empty         runtime.Object
		steps         []runtime.Object
		managersAlong []string
	}{
		{"pod created, relabelled", podGVK, "", &corev1.Pod{}, []runtime.Object{pod, relabelled}, []string{"kubectl", "editor"}},
		{"pod status", podGVK, "status", &corev1.Pod{}, []runtime.Object{pod, running}, []string{"kubectl", "kubelet"}},
		{"deployment scaled", deployGVK, "", &appsv1.Deployment{}, []runtime.Object{deploy, scaled}, []string{"kubectl", "hpa"}},
	} {
		var results [2][]metav1.ManagedFieldsEntry
		for i, tc := range []managedfields.TypeConverter{base, fast} {
			main := managers(tc, c.gvk, "")
			m := main
			if c.sub != "" {
				m = managers(tc, c.gvk, c.sub)
			}
			live := c.empty
			for j, step := range c.steps {
				next := step.DeepCopyObject()
				la, _ := meta.Accessor(live)
				na, _ := meta.Accessor(next)
				na.SetManagedFields(la.GetManagedFields())
				use := m
				if j == 0 {
					use = main // the object is created through the main resource
				}
				out, err := use.Update(live, next, c.managersAlong[j])
				if err != nil {
					t.Fatalf("%s, converter %d, step %d: %v", c.name, i, j, err)
				}
				live = out
			}
			la, _ := meta.Accessor(live)
			results[i] = la.GetManagedFields()
		}
		for i := range results[0] {
			results[0][i].Time, results[1][i].Time = nil, nil
		}
		if len(results[0]) < 2 || !apiequality.Semantic.DeepEqual(results[0], results[1]) {
			t.Errorf("%s: managedFields differ\nbase: %+v\nfast: %+v", c.name, results[0], results[1])
		}
	}
	// The fast path was taken, not the fallback to the base converter.
	for _, gvk := range []schema.GroupVersionKind{podGVK, deployGVK} {
		if _, ok := fast.types.Load(gvk); !ok {
			t.Errorf("no schema type remembered for %v", gvk)
		}
	}
}

// What clients send (server-side apply configurations, unstructured) is
// still checked against the schema.
func TestGoTypeConverterChecksUnstructured(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	fast := newGoTypeConverter(applyconfigurations.NewTypeConverter(scheme), scheme)
	bad := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "x", "noSuchField": true}}},
	}}
	if _, err := fast.ObjectToTyped(bad); err == nil {
		t.Fatal("an unknown field in an unstructured object passed")
	}
}
