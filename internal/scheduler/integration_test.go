package scheduler_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/internal/scheduler"
	"github.com/skiff-dev/skiff/internal/testserver"
)

const testNS = "sched"

// env is a control plane with this scheduler running against it.
type env struct {
	t      *testing.T
	client kubernetes.Interface
	ctx    context.Context
}

func startEnv(t *testing.T) *env {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	client, err := kubernetes.NewForConfig(srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(client, 0)
	s, err := scheduler.New(client, factory, nil, scheduler.Options{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return")
		}
		factory.Shutdown()
	})
	e := &env{t: t, client: client, ctx: ctx}
	_, err = client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return e
}

type nodeSpec struct {
	name   string
	cpu    string
	mem    string
	pods   string
	labels map[string]string
	taints []v1.Taint
}

// addNode creates a Ready node with the given allocatable; status goes
// through UpdateStatus, as a kubelet writes it.
func (e *env) addNode(ns nodeSpec) {
	e.t.Helper()
	if ns.cpu == "" {
		ns.cpu = "4"
	}
	if ns.mem == "" {
		ns.mem = "8Gi"
	}
	if ns.pods == "" {
		ns.pods = "110"
	}
	lbl := map[string]string{"kubernetes.io/hostname": ns.name}
	for k, v := range ns.labels {
		lbl[k] = v
	}
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: ns.name, Labels: lbl},
		Spec:       v1.NodeSpec{Taints: ns.taints},
	}
	created, err := e.client.CoreV1().Nodes().Create(e.ctx, node, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create node: %v", err)
	}
	alloc := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse(ns.cpu),
		v1.ResourceMemory: resource.MustParse(ns.mem),
		v1.ResourcePods:   resource.MustParse(ns.pods),
	}
	created.Status = v1.NodeStatus{
		Capacity: alloc, Allocatable: alloc,
		Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady",
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
	}
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(e.ctx, created, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("node status: %v", err)
	}
}

func testPod(name, cpu string, mutate ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{"app": "test"}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "busybox"}}},
	}
	if cpu != "" {
		p.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func (e *env) createPod(p *v1.Pod) *v1.Pod {
	e.t.Helper()
	out, err := e.client.CoreV1().Pods(p.Namespace).Create(e.ctx, p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return out
}

// poll calls cond until it is true or the deadline passes.
func (e *env) poll(what string, cond func() (bool, error)) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("timed out waiting for %s (last error: %v)", what, last)
}

func (e *env) waitBound(name string) string {
	e.t.Helper()
	var node string
	e.poll("pod "+name+" bound", func() (bool, error) {
		p, err := e.client.CoreV1().Pods(testNS).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		node = p.Spec.NodeName
		return node != "", nil
	})
	return node
}

// waitUnschedulable waits for PodScheduled=False/Unschedulable and returns
// its message.
func (e *env) waitUnschedulable(name string) string {
	e.t.Helper()
	var msg string
	e.poll("pod "+name+" unschedulable", func() (bool, error) {
		p, err := e.client.CoreV1().Pods(testNS).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
				msg = c.Message
				return true, nil
			}
		}
		return false, fmt.Errorf("conditions %v", p.Status.Conditions)
	})
	return msg
}

func (e *env) waitEvent(pod, reason, contains string) {
	e.t.Helper()
	e.poll("event "+reason+" for "+pod, func() (bool, error) {
		list, err := e.client.CoreV1().Events(testNS).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, ev := range list.Items {
			if ev.InvolvedObject.Name == pod && ev.Reason == reason && strings.Contains(ev.Message, contains) {
				if ev.Source.Component != scheduler.DefaultSchedulerName {
					return false, fmt.Errorf("event source %q", ev.Source.Component)
				}
				return true, nil
			}
		}
		return false, fmt.Errorf("%d events", len(list.Items))
	})
}

func TestIntegrationBindsPods(t *testing.T) {
	e := startEnv(t)
	e.addNode(nodeSpec{name: "n1"})
	e.addNode(nodeSpec{name: "n2"})
	for i := range 4 {
		e.createPod(testPod(fmt.Sprintf("p%d", i), "100m"))
	}
	for i := range 4 {
		name := fmt.Sprintf("p%d", i)
		node := e.waitBound(name)
		if node != "n1" && node != "n2" {
			t.Errorf("%s bound to %q", name, node)
		}
	}
	e.waitEvent("p0", "Scheduled", "Successfully assigned "+testNS+"/p0 to ")
	p, err := e.client.CoreV1().Pods(testNS).Get(e.ctx, "p0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scheduled := false
	for _, c := range p.Status.Conditions {
		scheduled = scheduled || (c.Type == v1.PodScheduled && c.Status == v1.ConditionTrue)
	}
	if !scheduled {
		t.Errorf("PodScheduled not True: %+v", p.Status.Conditions)
	}
	// A pod for another scheduler is left alone.
	other := e.createPod(testPod("other", "", func(p *v1.Pod) { p.Spec.SchedulerName = "someone-else" }))
	e.createPod(testPod("after", ""))
	e.waitBound("after")
	got, err := e.client.CoreV1().Pods(testNS).Get(e.ctx, other.Name, metav1.GetOptions{})
	if err != nil || got.Spec.NodeName != "" {
		t.Errorf("pod of another scheduler: node %q, err %v", got.Spec.NodeName, err)
	}
}

func TestIntegrationUnschedulableThenNodeAdded(t *testing.T) {
	e := startEnv(t)
	e.addNode(nodeSpec{name: "small", cpu: "1"})
	e.addNode(nodeSpec{name: "picky", labels: map[string]string{"disk": "hdd"}})
	e.createPod(testPod("big", "2", func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }))
	msg := e.waitUnschedulable("big")
	want := "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
	if msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	e.waitEvent("big", "FailedScheduling", want)

	e.addNode(nodeSpec{name: "ssd-small", cpu: "1", labels: map[string]string{"disk": "ssd"}})
	want = "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector."
	e.poll("message after a small node", func() (bool, error) {
		return e.waitUnschedulable("big") == want, nil
	})
	e.addNode(nodeSpec{name: "ssd-big", cpu: "4", labels: map[string]string{"disk": "ssd"}})
	if node := e.waitBound("big"); node != "ssd-big" {
		t.Errorf("bound to %q, want ssd-big", node)
	}
}

func TestIntegrationTaintsAndSelectors(t *testing.T) {
	e := startEnv(t)
	e.addNode(nodeSpec{name: "tainted", labels: map[string]string{"pool": "gpu"},
		taints: []v1.Taint{{Key: "gpu", Value: "true", Effect: v1.TaintEffectNoSchedule}}})
	e.addNode(nodeSpec{name: "plain"})
	for i := range 3 {
		e.createPod(testPod(fmt.Sprintf("plain%d", i), ""))
	}
	toGPU := func(p *v1.Pod) {
		p.Spec.NodeSelector = map[string]string{"pool": "gpu"}
		p.Spec.Tolerations = []v1.Toleration{{Key: "gpu", Operator: v1.TolerationOpEqual, Value: "true", Effect: v1.TaintEffectNoSchedule}}
	}
	e.createPod(testPod("gpu", "", toGPU))
	e.createPod(testPod("gpu-untolerated", "", func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"pool": "gpu"} }))
	for i := range 3 {
		if node := e.waitBound(fmt.Sprintf("plain%d", i)); node != "plain" {
			t.Errorf("plain%d on %q", i, node)
		}
	}
	if node := e.waitBound("gpu"); node != "tainted" {
		t.Errorf("gpu on %q", node)
	}
	want := "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {gpu: true}."
	if msg := e.waitUnschedulable("gpu-untolerated"); msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
}

func TestIntegrationAntiAffinitySpreads(t *testing.T) {
	e := startEnv(t)
	for _, n := range []string{"a", "b", "c"} {
		e.addNode(nodeSpec{name: n})
	}
	anti := func(p *v1.Pod) {
		p.Labels = map[string]string{"app": "db"}
		p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
				TopologyKey:   "kubernetes.io/hostname",
			}},
		}}
	}
	seen := map[string]bool{}
	for i := range 3 {
		name := fmt.Sprintf("db%d", i)
		e.createPod(testPod(name, "", anti))
		node := e.waitBound(name)
		if seen[node] {
			t.Errorf("%s shares node %s", name, node)
		}
		seen[node] = true
	}
	e.createPod(testPod("db3", "", anti))
	want := "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."
	if msg := e.waitUnschedulable("db3"); msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	// A plain pod matching the label cannot join them either: the placed
	// pods' anti-affinity is symmetric.
	e.createPod(testPod("intruder", "", func(p *v1.Pod) { p.Labels = map[string]string{"app": "db"} }))
	want = "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules."
	if msg := e.waitUnschedulable("intruder"); msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	// Deleting one replica frees its node for db3 (the intruder goes
	// first: it would compete for the freed node).
	if err := e.client.CoreV1().Pods(testNS).Delete(e.ctx, "intruder", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	if err := e.client.CoreV1().Pods(testNS).Delete(e.ctx, "db0", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {

		t.Fatal(err)
	}
	e.poll("db0 gone", func() (bool, error) {
		_, err := e.client.CoreV1().Pods(testNS).Get(e.ctx, "db0", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	e.waitBound("db3")
}

func TestIntegrationOwnerSpread(t *testing.T) {
	e := startEnv(t)
	for _, n := range []string{"a", "b", "c"} {
		e.addNode(nodeSpec{name: n})
	}
	// Unequal load so that least-allocated alone would pile pods on "c".
	for i := range 2 {
		e.createPod(testPod(fmt.Sprintf("load-a%d", i), "", func(p *v1.Pod) { p.Spec.NodeName = "a" }))
	}
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "11111111-2222-3333-4444-555555555555",
		Controller: new(bool), BlockOwnerDeletion: new(bool)}
	*owner.Controller = true
	count := map[string]int{}
	for i := range 6 {
		name := fmt.Sprintf("rs-%d", i)
		e.createPod(testPod(name, "", func(p *v1.Pod) { p.OwnerReferences = []metav1.OwnerReference{owner} }))
		count[e.waitBound(name)]++
	}
	for _, n := range []string{"a", "b", "c"} {
		if count[n] != 2 {
			t.Errorf("replicas per node %v, want 2 each", count)
			break
		}
	}
}

// TestIntegrationThroughput creates 1000 pods at once and measures the
// time until all are bound. It reports, never asserts, the figure.
func TestIntegrationThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("throughput run skipped with -short")
	}
	e := startEnv(t)
	for i := range 3 {
		e.addNode(nodeSpec{name: fmt.Sprintf("n%d", i), cpu: "1000", mem: "1000Gi", pods: "1000"})
	}
	const n = 1000
	w, err := e.client.CoreV1().Pods(testNS).Watch(e.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range jobs {
				p := testPod(fmt.Sprintf("tp-%04d", i), "10m")
				if _, err := e.client.CoreV1().Pods(testNS).Create(e.ctx, p, metav1.CreateOptions{}); err != nil {
					t.Errorf("create: %v", err)
				}
			}
		})
	}
	createsDone := make(chan time.Duration, 1)
	go func() {
		for i := range n {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		createsDone <- time.Since(start)
	}()
	bound := map[string]bool{}
	var created time.Duration
	timeout := time.After(60 * time.Second)
	for len(bound) < n {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed after %d bound", len(bound))
			}
			if p, ok := ev.Object.(*v1.Pod); ok && p.Spec.NodeName != "" {
				bound[p.Name] = true
			}
		case <-timeout:
			t.Fatalf("only %d/%d pods bound after 60s", len(bound), n)
		}
	}
	elapsed := time.Since(start)
	created = <-createsDone
	perNode := map[string]int{}
	list, err := e.client.CoreV1().Pods(testNS).List(e.ctx, metav1.ListOptions{FieldSelector: fields.Everything().String()})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		perNode[p.Spec.NodeName]++
	}
	t.Logf("%d pods created and bound in %v (%.0f pods/s); last create answered at %v; per node %v",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), created.Round(time.Millisecond), perNode)
}
