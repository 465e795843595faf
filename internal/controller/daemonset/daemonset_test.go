package daemonset_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	. "github.com/skiff-dev/skiff/internal/controller/daemonset"
	"github.com/skiff-dev/skiff/internal/testserver"
)

func testLogger() *slog.Logger {
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type env struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface
	ns     string
}

// start runs a control plane with skiff's scheduler (daemon pods are
// bound by the scheduler through their node affinity), this controller
// and a fake kubelet for every node.
func start(t *testing.T) *env {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{"scheduler"}})
	ctx, cancel := context.WithCancel(context.Background())
	client := srv.Client
	f := informers.NewSharedInformerFactory(client, 0)
	a := f.Apps().V1()
	c, err := New(client, a.DaemonSets(), a.ControllerRevisions(), f.Core().V1().Pods(), f.Core().V1().Nodes(), testLogger(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 2) }()
	waitKubelet := runKubelet(ctx, client)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		waitKubelet()
		f.Shutdown()
	})
	return &env{t: t, ctx: ctx, client: client, ns: "default"}
}

// runKubelet plays every node's kubelet: a bound pod becomes Running and
// Ready, a deleted one is removed.
func runKubelet(ctx context.Context, client kubernetes.Interface) func() {
	f := informers.NewSharedInformerFactory(client, 0)
	inf := f.Core().V1().Pods().Informer()
	var wg sync.WaitGroup
	handle := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Spec.NodeName == "" {
			return
		}
		wg.Go(func() {
			pods := client.CoreV1().Pods(pod.Namespace)
			switch {
			case pod.DeletionTimestamp != nil:
				_ = pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0)), Preconditions: &metav1.Preconditions{UID: &pod.UID}})
			case pod.Status.Phase == corev1.PodPending:
				p := pod.DeepCopy()
				now := metav1.Now()
				p.Status.Phase = corev1.PodRunning
				p.Status.StartTime = &now
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
				_, _ = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
			}
		})
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: handle, UpdateFunc: func(_, o any) { handle(o) }})
	f.Start(ctx.Done())
	return func() { <-ctx.Done(); f.Shutdown(); wg.Wait() }
}

func (e *env) addNode(name string, taints ...corev1.Taint) {
	e.t.Helper()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:       corev1.NodeSpec{Taints: taints},
	}
	n, err := e.client.CoreV1().Nodes().Create(e.ctx, n, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	n.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}},
		Capacity:   corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")},
	}
	n.Status.Allocatable = n.Status.Capacity
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(e.ctx, n, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) eventually(what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(25 * time.Millisecond)
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

func (e *env) ds(name string) *appsv1.DaemonSet {
	e.t.Helper()
	ds, err := e.client.AppsV1().DaemonSets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// placement maps node → "image" of its live, ready pods.
func placement(pods []corev1.Pod) (map[string][]string, string) {
	m := map[string][]string{}
	var desc []string
	for _, p := range pods {
		desc = append(desc, fmt.Sprintf("%s@%s(%s,ready=%v,del=%v)", p.Name, p.Spec.NodeName, p.Spec.Containers[0].Image, isReady(&p), p.DeletionTimestamp != nil))
		if p.DeletionTimestamp != nil || p.Spec.NodeName == "" || !isReady(&p) {
			continue
		}
		m[p.Spec.NodeName] = append(m[p.Spec.NodeName], p.Spec.Containers[0].Image)
	}
	sort.Strings(desc)
	return m, strings.Join(desc, " ")
}

// onePerNode reports whether each of nodes runs exactly one ready pod of
// image, and nothing runs elsewhere.
func onePerNode(pods []corev1.Pod, image string, nodes ...string) (bool, string) {
	m, desc := placement(pods)
	if len(m) != len(nodes) {
		return false, desc
	}
	for _, n := range nodes {
		if len(m[n]) != 1 || m[n][0] != image {
			return false, desc
		}
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			return false, desc
		}
	}
	return true, desc
}

func newDS(name, image string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: new(intstr.FromInt32(1))},
			},
		},
	}
}

func (e *env) revisions(name string) []appsv1.ControllerRevision {
	e.t.Helper()
	l, err := e.client.AppsV1().ControllerRevisions(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Revision < l.Items[j].Revision })
	return l.Items
}

// maxDownNodes watches the DaemonSet's pods and records the largest
// number of nodes (of want) that at one moment lacked a ready, live pod.
func (e *env) maxDownNodes(sel string, nodes []string) (stop func() int) {
	e.t.Helper()
	l, err := e.client.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := e.client.CoreV1().Pods(e.ns).Watch(e.ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: l.ResourceVersion})
	if err != nil {
		e.t.Fatal(err)
	}
	state := map[string]corev1.Pod{}
	for _, p := range l.Items {
		state[p.Name] = p
	}
	worst := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(state, p.Name)
			} else {
				state[p.Name] = *p
			}
			var pods []corev1.Pod
			for _, p := range state {
				pods = append(pods, p)
			}
			m, _ := placement(pods)
			down := 0
			for _, n := range nodes {
				if len(m[n]) == 0 {
					down++
				}
			}
			worst = max(worst, down)
		}
	}()
	return func() int { w.Stop(); <-done; return worst }
}

func TestDaemonSet(t *testing.T) {
	e := start(t)
	for _, n := range []string{"node-a", "node-b", "node-c"} {
		e.addNode(n)
	}
	// A tainted node gets no daemon pod.
	e.addNode("node-tainted", corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})

	ds, err := e.client.AppsV1().DaemonSets(e.ns).Create(e.ctx, newDS("agent", "img:v1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.eventually("one pod per eligible node", func() (bool, string) { return onePerNode(e.pods("app=agent"), "img:v1", "node-a", "node-b", "node-c") })
	e.eventually("status", func() (bool, string) {
		s := e.ds("agent").Status
		return s.DesiredNumberScheduled == 3 && s.CurrentNumberScheduled == 3 && s.NumberReady == 3 && s.UpdatedNumberScheduled == 3 &&
			s.NumberAvailable == 3 && s.NumberUnavailable == 0 && s.NumberMisscheduled == 0 && s.ObservedGeneration == ds.Generation, fmt.Sprintf("%+v", s)
	})

	t.Run("pod shape", func(t *testing.T) {
		revs := e.revisions("agent")
		if len(revs) != 1 || revs[0].Revision != 1 {
			t.Fatalf("revisions %+v", revs)
		}
		hash := revs[0].Labels["controller-revision-hash"]
		if revs[0].Name != "agent-"+hash || !strings.HasPrefix(string(revs[0].Data.Raw), `{"spec":{"template":{"$patch":"replace",`) {
			t.Fatalf("revision %s data %s", revs[0].Name, revs[0].Data.Raw)
		}
		for _, p := range e.pods("app=agent") {
			if p.Labels["controller-revision-hash"] != hash || p.Labels["pod-template-generation"] == "" {
				t.Fatalf("pod labels %v", p.Labels)
			}
			terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
			if len(terms) != 1 || terms[0].MatchFields[0].Key != "metadata.name" || terms[0].MatchFields[0].Values[0] != p.Spec.NodeName {
				t.Fatalf("pod %s on %s affinity %+v", p.Name, p.Spec.NodeName, terms)
			}
			if len(p.Spec.Tolerations) < 6 {
				t.Fatalf("tolerations %+v", p.Spec.Tolerations)
			}
		}
	})

	t.Run("nodes added and removed", func(t *testing.T) {
		e.addNode("node-d")
		e.eventually("pod on the new node", func() (bool, string) {
			return onePerNode(e.pods("app=agent"), "img:v1", "node-a", "node-b", "node-c", "node-d")
		})
		if err := e.client.CoreV1().Nodes().Delete(e.ctx, "node-d", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("pod of the removed node gone", func() (bool, string) {
			pods := e.pods("app=agent")
			ok, desc := onePerNode(pods, "img:v1", "node-a", "node-b", "node-c")
			return ok && len(pods) == 3, desc
		})
		e.eventually("desired 3", func() (bool, string) {
			s := e.ds("agent").Status
			return s.DesiredNumberScheduled == 3 && s.NumberReady == 3, fmt.Sprintf("%+v", s)
		})
	})

	nodes := []string{"node-a", "node-b", "node-c"}
	setImage := func(image string) {
		t.Helper()
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}}`, image)
		if _, err := e.client.AppsV1().DaemonSets(e.ns).Patch(e.ctx, "agent", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rolledOut := func(image string) {
		t.Helper()
		e.eventually("rollout of "+image, func() (bool, string) {
			if ok, desc := onePerNode(e.pods("app=agent"), image, nodes...); !ok {
				return false, desc
			}
			d := e.ds("agent")
			s := d.Status
			return s.ObservedGeneration == d.Generation && s.UpdatedNumberScheduled == 3 && s.NumberAvailable == 3, fmt.Sprintf("%+v", s)
		})
	}

	t.Run("rolling update one node at a time", func(t *testing.T) {
		stop := e.maxDownNodes("app=agent", nodes)
		setImage("img:v2")
		rolledOut("img:v2")
		// Each node is down once (its old pod deleted before the new one
		// runs), never two at a time.
		if worst := stop(); worst != 1 {
			t.Fatalf("at worst %d nodes were without a ready pod at once; want 1 (maxUnavailable)", worst)
		}
		revs := e.revisions("agent")
		if len(revs) != 2 || revs[0].Revision != 1 || revs[1].Revision != 2 {
			t.Fatalf("revisions %d", len(revs))
		}
	})

	t.Run("rollback via ControllerRevision", func(t *testing.T) {
		revs := e.revisions("agent")
		// What `kubectl rollout undo` does: apply revision 1's data.
		if _, err := e.client.AppsV1().DaemonSets(e.ns).Patch(e.ctx, "agent", types.StrategicMergePatchType, revs[0].Data.Raw, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		rolledOut("img:v1")
		after := e.revisions("agent")
		if len(after) != 2 || after[1].Name != revs[0].Name || after[1].Revision != 3 {
			t.Fatalf("after rollback: %s=%d %s=%d", after[0].Name, after[0].Revision, after[1].Name, after[1].Revision)
		}
		for _, p := range e.pods("app=agent") {
			if p.Labels["controller-revision-hash"] != revs[0].Labels["controller-revision-hash"] {
				t.Fatalf("pod %s hash %s", p.Name, p.Labels["controller-revision-hash"])
			}
		}
		// A change outside the template restarts nothing.
		before := map[types.UID]bool{}
		for _, p := range e.pods("app=agent") {
			before[p.UID] = true
		}
		if _, err := e.client.AppsV1().DaemonSets(e.ns).Patch(e.ctx, "agent", types.MergePatchType, []byte(`{"spec":{"minReadySeconds":1}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("observed", func() (bool, string) {
			d := e.ds("agent")
			return d.Status.ObservedGeneration == d.Generation && d.Status.NumberAvailable == 3, fmt.Sprintf("%+v", d.Status)
		})
		for _, p := range e.pods("app=agent") {
			if !before[p.UID] {
				t.Fatalf("pod %s was replaced", p.Name)
			}
		}
	})

	t.Run("failed pod replaced", func(t *testing.T) {
		var victim corev1.Pod
		for _, p := range e.pods("app=agent") {
			if p.Spec.NodeName == "node-b" {
				victim = p
			}
		}
		victim.Status.Phase = corev1.PodFailed
		if _, err := e.client.CoreV1().Pods(e.ns).UpdateStatus(e.ctx, &victim, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("replacement on node-b", func() (bool, string) {
			pods := e.pods("app=agent")
			for _, p := range pods {
				if p.UID == victim.UID {
					return false, "failed pod still there"
				}
			}
			return onePerNode(pods, "img:v1", nodes...)
		})
		e.eventually("FailedDaemonPod event", func() (bool, string) {
			l, err := e.client.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=agent"})
			if err != nil {
				return false, err.Error()
			}
			var reasons []string
			for _, ev := range l.Items {
				if ev.Reason == "FailedDaemonPod" {
					return true, ""
				}
				reasons = append(reasons, ev.Reason)
			}
			return false, strings.Join(reasons, ",")
		})
	})

	t.Run("node taint evicts", func(t *testing.T) {
		n, err := e.client.CoreV1().Nodes().Get(e.ctx, "node-c", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "evict", Effect: corev1.TaintEffectNoExecute})
		if _, err := e.client.CoreV1().Nodes().Update(e.ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("no pod on node-c", func() (bool, string) {
			return onePerNode(e.pods("app=agent"), "img:v1", "node-a", "node-b")
		})
	})

	t.Run("deleted with its pods owned", func(t *testing.T) {
		for _, p := range e.pods("app=agent") {
			ref := metav1.GetControllerOf(&p)
			if ref == nil || ref.UID != ds.UID {
				t.Fatalf("pod %s not controlled by the DaemonSet", p.Name)
			}
		}
		var st map[string]any
		b, _ := json.Marshal(e.ds("agent").Status)
		_ = json.Unmarshal(b, &st)
		if _, ok := st["collisionCount"]; ok {
			t.Fatalf("unexpected collision: %s", b)
		}
		if err := e.client.AppsV1().DaemonSets(e.ns).Delete(e.ctx, "agent", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	})
}
