package ownerref

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

func TestPatches(t *testing.T) {
	owner := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", UID: "o1"}}
	p, err := AdoptPatch(owner, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "p1")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","blockOwnerDeletion":true,"controller":true,"kind":"ReplicaSet","name":"rs","uid":"o1"}],"uid":"p1"}}`
	if string(p) != want {
		t.Fatalf("adopt patch %s", p)
	}
	p, _ = ReleasePatch("o1", "p1")
	if string(p) != `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":"o1"}],"uid":"p1"}}` {
		t.Fatalf("release patch %s", p)
	}
}

func TestClaim(t *testing.T) {
	tr := true
	owner := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "o1"}}
	pod := func(name, app string, ctrl types.UID) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{"app": app}}}
		if ctrl != "" {
			p.OwnerReferences = []metav1.OwnerReference{{UID: ctrl, Controller: &tr, Name: "x", Kind: "ReplicaSet"}}
		}
		return p
	}
	pods := []*corev1.Pod{
		pod("mine", "a", "o1"),   // kept
		pod("orphan", "a", ""),   // adopted
		pod("theirs", "a", "o2"), // ignored
		pod("stray", "b", "o1"),  // released
		pod("nomatch", "b", ""),  // ignored
	}
	var patched []string
	patch := func(_ context.Context, _, name string, p []byte) error {
		var v map[string]any
		if err := json.Unmarshal(p, &v); err != nil {
			return err
		}
		patched = append(patched, name)
		return nil
	}
	gets := 0
	get := func(context.Context) (metav1.Object, error) { gets++; return owner, nil }
	cl := NewClaimer(owner, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), labels.SelectorFromSet(labels.Set{"app": "a"}), "Pod", get, patch)
	got, err := Claim(context.Background(), cl, pods)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "mine" || got[1].Name != "orphan" {
		t.Fatalf("claimed %v", got)
	}
	if len(patched) != 2 || patched[0] != "orphan" || patched[1] != "stray" || gets != 1 {
		t.Fatalf("patched %v gets %d", patched, gets)
	}
	// An owner replaced by a namesake adopts nothing.
	other := owner.DeepCopy()
	other.UID = "o9"
	cl = NewClaimer(owner, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), labels.Everything(), "Pod", func(context.Context) (metav1.Object, error) { return other, nil }, patch)
	if _, err := Claim(context.Background(), cl, []*corev1.Pod{pod("o", "a", "")}); err == nil || errors.Unwrap(err) == nil && err.Error() == "" {
		t.Fatal("want an adoption error")
	}
}
