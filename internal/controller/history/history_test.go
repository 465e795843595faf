package history

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestTemplatePatchShape(t *testing.T) {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Annotations: map[string]string{"a": "b"}},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
		}},
	}
	p, err := TemplatePatch(ds)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"image":"i","name":"c","resources":{}}]}}}}`
	if string(p) != want {
		t.Fatalf("patch\n got %s\nwant %s", p, want)
	}
	var v map[string]any
	if err := json.Unmarshal(p, &v); err != nil {
		t.Fatal(err)
	}
	if _, err := TemplatePatch(struct{}{}); err == nil {
		t.Fatal("no error without a template")
	}
}

func TestHashAndNew(t *testing.T) {
	parent := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u"}}
	kind := appsv1.SchemeGroupVersion.WithKind("StatefulSet")
	data := []byte(`{"spec":{"template":{"$patch":"replace"}}}`)
	var zero, one int32 = 0, 1
	a := New(parent, kind, map[string]string{"app": "web"}, data, 3, &zero)
	b := New(parent, kind, map[string]string{"app": "web"}, data, 4, &zero)
	c := New(parent, kind, nil, data, 3, &one)
	if a.Name != b.Name || a.Name == c.Name {
		t.Fatalf("names %s %s %s", a.Name, b.Name, c.Name)
	}
	if a.Name != "web-"+a.Labels[HashLabel] || a.Labels["app"] != "web" || a.Namespace != "ns" || a.Revision != 3 {
		t.Fatalf("revision %+v", a.ObjectMeta)
	}
	if ref := metav1.GetControllerOf(a); ref == nil || ref.UID != "u" || ref.Kind != "StatefulSet" {
		t.Fatalf("ref %+v", ref)
	}
	if !Equal(a, b) || Equal(a, &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: []byte("x")}}) || !Equal(nil, nil) || Equal(a, nil) {
		t.Fatal("Equal")
	}
	if Name(string(make([]byte, 300)), "h") != string(make([]byte, 223))+"-h" {
		t.Fatal("long prefix not cut")
	}
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}}}
	if TemplateHash(tmpl, nil) == TemplateHash(tmpl, &one) || TemplateHash(tmpl, nil) != TemplateHash(tmpl.DeepCopy(), nil) {
		t.Fatal("TemplateHash")
	}
}

func TestSort(t *testing.T) {
	t0 := metav1.Now()
	t1 := metav1.NewTime(t0.Add(1))
	revs := []*appsv1.ControllerRevision{
		{ObjectMeta: metav1.ObjectMeta{Name: "c", CreationTimestamp: t0}, Revision: 2},
		{ObjectMeta: metav1.ObjectMeta{Name: "b", CreationTimestamp: t1}, Revision: 1},
		{ObjectMeta: metav1.ObjectMeta{Name: "a", CreationTimestamp: t1}, Revision: 1},
		{ObjectMeta: metav1.ObjectMeta{Name: "z", CreationTimestamp: t0}, Revision: 1},
	}
	Sort(revs)
	got := ""
	for _, r := range revs {
		got += r.Name
	}
	if got != "zabc" || MaxRevision(revs) != 2 || MaxRevision(nil) != 0 {
		t.Fatalf("order %s", got)
	}
}
