package apiserver_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/internal/testserver"
)

func TestSubresources(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	cs := protobufClient(t, srv.Config)
	c := ctx(t)
	ns := "default"
	labels := map[string]string{"app": "s"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(c, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("scale", func(t *testing.T) {
		sc, err := cs.AppsV1().Deployments(ns).GetScale(c, "d", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Spec.Replicas != 1 || sc.Status.Selector != "app=s" {
			t.Fatalf("scale %+v", sc)
		}
		sc.Spec.Replicas = 4
		if _, err := cs.AppsV1().Deployments(ns).UpdateScale(c, "d", sc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, _ := cs.AppsV1().Deployments(ns).Get(c, "d", metav1.GetOptions{})
		if *got.Spec.Replicas != 4 || got.Generation != 2 {
			t.Fatalf("replicas %d generation %d after scale", *got.Spec.Replicas, got.Generation)
		}
		// The scale's resourceVersion is a precondition.
		if _, err := cs.AppsV1().Deployments(ns).UpdateScale(c, "d", sc, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
			t.Fatalf("stale scale update: %v", err)
		}
		if _, err := cs.AppsV1().Deployments(ns).Patch(c, "d", types.MergePatchType, []byte(`{"spec":{"replicas":-1}}`), metav1.PatchOptions{}, "scale"); !apierrors.IsInvalid(err) {
			t.Fatalf("negative replicas: %v", err)
		}
	})

	t.Run("status", func(t *testing.T) {
		got, _ := cs.AppsV1().Deployments(ns).Get(c, "d", metav1.GetOptions{})
		got.Status.Replicas = 3
		got.Spec.Paused = true // ignored by a status write
		out, err := cs.AppsV1().Deployments(ns).UpdateStatus(c, got, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status.Replicas != 3 || out.Spec.Paused {
			t.Fatalf("status write: status.replicas %d, spec.paused %v", out.Status.Replicas, out.Spec.Paused)
		}
		// And a main-resource write cannot change status.
		out.Status.Replicas = 9
		out.Spec.Paused = true
		out2, err := cs.AppsV1().Deployments(ns).Update(c, out, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if out2.Status.Replicas != 3 || !out2.Spec.Paused {
			t.Fatalf("main write: status.replicas %d, spec.paused %v", out2.Status.Replicas, out2.Spec.Paused)
		}
	})

	t.Run("binding-and-eviction", func(t *testing.T) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
		p, err := cs.CoreV1().Pods(ns).Create(c, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: p.UID}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}
		if err := cs.CoreV1().Pods(ns).Bind(c, b, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, _ := cs.CoreV1().Pods(ns).Get(c, "p", metav1.GetOptions{})
		if got.Spec.NodeName != "n1" {
			t.Fatalf("nodeName %q after binding", got.Spec.NodeName)
		}
		scheduled := false
		for _, cond := range got.Status.Conditions {
			scheduled = scheduled || cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionTrue
		}
		if !scheduled {
			t.Fatalf("no PodScheduled=True after binding: %+v", got.Status.Conditions)
		}
		if err := cs.CoreV1().Pods(ns).Bind(c, b, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
			t.Fatalf("second binding: %v", err)
		}
		// Evicting a pod bound to a node starts its graceful deletion.
		if err := cs.CoreV1().Pods(ns).EvictV1(c, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "p"}}); err != nil {
			t.Fatal(err)
		}
		got, err = cs.CoreV1().Pods(ns).Get(c, "p", metav1.GetOptions{})
		if err != nil || got.DeletionTimestamp == nil || *got.DeletionGracePeriodSeconds != 30 {
			t.Fatalf("after eviction: %v, %+v", err, got.ObjectMeta)
		}
		// The node's final delete (grace 0) removes it.
		zero := int64(0)
		if err := cs.CoreV1().Pods(ns).Delete(c, "p", metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &p.UID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Pods(ns).Get(c, "p", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("pod still there: %v", err)
		}
	})
}
