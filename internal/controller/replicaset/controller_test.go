package replicaset_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/internal/controller/controllertest"
	. "github.com/skiff-dev/skiff/internal/controller/replicaset"
	"github.com/skiff-dev/skiff/internal/testserver"
)

type env struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface
	node   *controllertest.Node
	ns     string
}

func testLogger() *slog.Logger {
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// start runs a control plane, this controller and (unless node is nil) a
// node playing the kubelet.
func start(t *testing.T, node *controllertest.Node) *env {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	client := srv.Client
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, f.Apps().V1().ReplicaSets(), f.Core().V1().Pods(), testLogger(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 2) }()
	var waitNode func()
	if node != nil {
		waitNode = node.Start(ctx, client)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if waitNode != nil {
			waitNode()
		}
		f.Shutdown()
	})
	e := &env{t: t, ctx: ctx, client: client, node: node, ns: "default"}
	return e
}

func newRS(name string, replicas int32, app string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app, "tier": "web"}, Annotations: map[string]string{"note": "x"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
}

// eventually polls cond until it holds or the deadline passes.
func (e *env) eventually(what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("timed out waiting for %s: %s", what, last)
}

func (e *env) pods(sel string) []corev1.Pod {
	e.t.Helper()
	l, err := e.client.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		e.t.Fatal(err)
	}
	return l.Items
}

func activeCount(pods []corev1.Pod) int {
	n := 0
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

func (e *env) waitStatus(name string, replicas, ready, available int32) *appsv1.ReplicaSet {
	e.t.Helper()
	var rs *appsv1.ReplicaSet
	e.eventually(fmt.Sprintf("rs %s status %d/%d/%d", name, replicas, ready, available), func() (bool, string) {
		var err error
		rs, err = e.client.AppsV1().ReplicaSets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s := rs.Status
		return s.ObservedGeneration == rs.Generation && s.Replicas == replicas && s.ReadyReplicas == ready && s.AvailableReplicas == available,
			fmt.Sprintf("%+v gen %d", s, rs.Generation)
	})
	return rs
}

func (e *env) scale(name string, n int32) {
	e.t.Helper()
	_, err := e.client.AppsV1().ReplicaSets(e.ns).Patch(e.ctx, name, types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)), metav1.PatchOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
}

func TestScaleUpAndDown(t *testing.T) {
	e := start(t, &controllertest.Node{})
	rs, err := e.client.AppsV1().ReplicaSets(e.ns).Create(e.ctx, newRS("web", 5, "web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := e.waitStatus("web", 5, 5, 5)
	if got.Status.FullyLabeledReplicas != 5 || got.Status.TerminatingReplicas == nil {
		t.Errorf("status = %+v", got.Status)
	}
	pods := e.pods("app=web")
	if len(pods) != 5 {
		t.Fatalf("%d pods, want 5 (no overshoot)", len(pods))
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(&p)
		if ref == nil || ref.UID != rs.UID || ref.Kind != "ReplicaSet" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("pod %s controller ref = %+v", p.Name, ref)
		}
		if !strings.HasPrefix(p.Name, "web-") || p.GenerateName != "web-" {
			t.Errorf("pod name %q generateName %q", p.Name, p.GenerateName)
		}
		if p.Labels["tier"] != "web" || p.Annotations["note"] != "x" {
			t.Errorf("pod %s labels %v annotations %v", p.Name, p.Labels, p.Annotations)
		}
	}
	e.scale("web", 2)
	e.waitStatus("web", 2, 2, 2)
	e.eventually("3 pods gone", func() (bool, string) {
		n := len(e.pods("app=web"))
		return n == 2, fmt.Sprint(n, " pods")
	})
	e.scale("web", 0)
	e.waitStatus("web", 0, 0, 0)
	// Events as Kubernetes records them.
	e.eventually("events", func() (bool, string) {
		l, err := e.client.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		reasons := map[string]int{}
		for _, ev := range l.Items {
			if ev.InvolvedObject.Name == "web" && ev.InvolvedObject.Kind == "ReplicaSet" {
				reasons[ev.Reason] += int(max(ev.Count, 1))
			}
		}
		return reasons["SuccessfulCreate"] == 5 && reasons["SuccessfulDelete"] == 5, fmt.Sprint(reasons)
	})
}

func TestNoOvershootWithoutNode(t *testing.T) {
	e := start(t, nil)
	if _, err := e.client.AppsV1().ReplicaSets(e.ns).Create(e.ctx, newRS("idle", 30, "idle"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("idle", 30, 0, 0)
	time.Sleep(300 * time.Millisecond) // give an overshoot the chance to show
	if n := len(e.pods("app=idle")); n != 30 {
		t.Fatalf("%d pods, want 30", n)
	}
	// Unscheduled pods are deleted before scheduled ones: bind two by hand.
	pods := e.pods("app=idle")
	for _, p := range pods[:2] {
		err := e.client.CoreV1().Pods(e.ns).Bind(e.ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: "n"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	e.eventually("bound pods in cache", func() (bool, string) { return true, "" })
	time.Sleep(200 * time.Millisecond)
	e.scale("idle", 2)
	e.eventually("only the bound pods remain", func() (bool, string) {
		left := e.pods("app=idle")
		var names []string
		for _, p := range left {
			if p.DeletionTimestamp == nil {
				names = append(names, p.Name+"@"+p.Spec.NodeName)
			}
		}
		ok := len(names) == 2 && strings.HasSuffix(names[0], "@n") && strings.HasSuffix(names[1], "@n")
		return ok, fmt.Sprint(names)
	})
}

func TestDeletionOrderReadyLast(t *testing.T) {
	// Pods whose name sorts in the first half never become ready; scaling
	// down must remove exactly those.
	node := &controllertest.Node{}
	notReady := map[string]bool{}
	node.Ready = func(p *corev1.Pod) bool { return !notReady[p.Name] }
	e := start(t, node)
	node.Pause()
	if _, err := e.client.AppsV1().ReplicaSets(e.ns).Create(e.ctx, newRS("mix", 6, "mix"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("mix", 6, 0, 0)
	pods := e.pods("app=mix")
	for _, p := range pods[:3] {
		notReady[p.Name] = true
	}
	node.Resume()
	e.waitStatus("mix", 6, 3, 3)
	e.scale("mix", 3)
	e.waitStatus("mix", 3, 3, 3)
	for _, p := range e.pods("app=mix") {
		if p.DeletionTimestamp == nil && notReady[p.Name] {
			t.Errorf("not-ready pod %s survived the scale down", p.Name)
		}
	}
}

func TestAdoptAndRelease(t *testing.T) {
	e := start(t, &controllertest.Node{})
	// An orphan that matches is adopted instead of a new pod created.
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: map[string]string{"app": "adopt"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := e.client.CoreV1().Pods(e.ns).Create(e.ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, err := e.client.AppsV1().ReplicaSets(e.ns).Create(e.ctx, newRS("adopt", 2, "adopt"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := e.waitStatus("adopt", 2, 2, 2)
	if got.Status.FullyLabeledReplicas != 1 {
		t.Errorf("fullyLabeledReplicas = %d, want 1 (the orphan lacks tier=web)", got.Status.FullyLabeledReplicas)
	}
	p, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, "orphan", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != rs.UID {
		t.Fatalf("orphan not adopted: %+v", p.OwnerReferences)
	}
	if n := activeCount(e.pods("app=adopt")); n != 2 {
		t.Fatalf("%d pods, want 2", n)
	}
	// Relabel it: it is released and replaced.
	if _, err := e.client.CoreV1().Pods(e.ns).Patch(e.ctx, "orphan", types.MergePatchType, []byte(`{"metadata":{"labels":{"app":"other"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("orphan released", func() (bool, string) {
		p, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return metav1.GetControllerOf(p) == nil, fmt.Sprint(p.OwnerReferences)
	})
	e.waitStatus("adopt", 2, 2, 2)
	if n := activeCount(e.pods("app=adopt")); n != 2 {
		t.Fatalf("%d pods, want 2", n)
	}
}

func TestMinReadySeconds(t *testing.T) {
	e := start(t, &controllertest.Node{})
	rs := newRS("slow", 2, "slow")
	rs.Spec.MinReadySeconds = 2
	if _, err := e.client.AppsV1().ReplicaSets(e.ns).Create(e.ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("slow", 2, 2, 0)
	e.waitStatus("slow", 2, 2, 2)
}
