package deployment_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/internal/controller/controllertest"
	. "github.com/skiff-dev/skiff/internal/controller/deployment"
	"github.com/skiff-dev/skiff/internal/controller/replicaset"
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

// start runs a control plane with the ReplicaSet and Deployment
// controllers and a node playing the kubelet.
func start(t *testing.T, node *controllertest.Node) *env {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	client := srv.Client
	f := informers.NewSharedInformerFactory(client, 0)
	rsc, err := replicaset.New(client, f.Apps().V1().ReplicaSets(), f.Core().V1().Pods(), testLogger(), replicaset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := New(client, f.Apps().V1().Deployments(), f.Apps().V1().ReplicaSets(), f.Core().V1().Pods(), testLogger().With("component", "deployment"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := rsc.Run(ctx, 3); err != nil {
			t.Errorf("replicaset Run: %v", err)
		}
	})
	wg.Go(func() {
		if err := dc.Run(ctx, 3); err != nil {
			t.Errorf("deployment Run: %v", err)
		}
	})
	waitNode := node.Start(ctx, client)
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		waitNode()
		f.Shutdown()
	})
	return &env{t: t, ctx: ctx, client: client, node: node, ns: "default"}
}

func newDeployment(name string, replicas int32, image string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
		},
	}
}

func rolling(surge, unavailable intstr.IntOrString) appsv1.DeploymentStrategy {
	return appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}
}

func (e *env) eventually(what string, timeout time.Duration, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
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

func (e *env) get(name string) *appsv1.Deployment {
	e.t.Helper()
	d, err := e.client.AppsV1().Deployments(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// waitComplete waits until the rollout is complete as `kubectl rollout
// status` judges it, with the NewReplicaSetAvailable reason.
func (e *env) waitComplete(name string) *appsv1.Deployment {
	e.t.Helper()
	var d *appsv1.Deployment
	e.eventually("rollout of "+name, 60*time.Second, func() (bool, string) {
		d = e.get(name)
		s := d.Status
		c := GetCondition(s, appsv1.DeploymentProgressing)
		ok := s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == *d.Spec.Replicas && s.Replicas == *d.Spec.Replicas &&
			s.AvailableReplicas == *d.Spec.Replicas && c != nil && c.Reason == ReasonNewRSAvailable
		return ok, fmt.Sprintf("%+v", s)
	})
	return d
}

func (e *env) replicaSets(app string) []appsv1.ReplicaSet {
	e.t.Helper()
	l, err := e.client.AppsV1().ReplicaSets(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		e.t.Fatal(err)
	}
	return l.Items
}

func (e *env) setImage(name, image string) {
	e.t.Helper()
	p := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}}`, image)
	if _, err := e.client.AppsV1().Deployments(e.ns).Patch(e.ctx, name, types.StrategicMergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) patch(name, p string) {
	e.t.Helper()
	if _, err := e.client.AppsV1().Deployments(e.ns).Patch(e.ctx, name, types.StrategicMergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// checker watches the pods of one app and calls check with the active
// pods at every observed change.
type checker struct {
	mu         sync.Mutex
	violations []string
	maxTotal   int
	minAvail   int
}

func (e *env) watchPods(app string, check func(active []*corev1.Pod) string) *checker {
	e.t.Helper()
	c := &checker{minAvail: 1 << 30}
	ctx, cancel := context.WithCancel(e.ctx)
	f := informers.NewSharedInformerFactoryWithOptions(e.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "app=" + app }))
	inf := f.Core().V1().Pods().Informer()
	store := inf.GetStore()
	observe := func(any) {
		var active []*corev1.Pod
		for _, o := range store.List() {
			p := o.(*corev1.Pod)
			if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				active = append(active, p)
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if msg := check(active); msg != "" && len(c.violations) < 10 {
			c.violations = append(c.violations, msg)
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: observe, UpdateFunc: func(_, o any) { observe(o) }, DeleteFunc: observe})
	f.Start(ctx.Done())
	cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
	e.t.Cleanup(func() { cancel(); f.Shutdown() })
	return c
}

func (c *checker) assertClean(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.violations {
		t.Error(v)
	}
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestRollingUpdateInvariant(t *testing.T) {
	cases := []struct {
		replicas           int32
		surge, unavailable intstr.IntOrString
	}{
		{10, intstr.FromString("25%"), intstr.FromString("25%")},
		{10, intstr.FromInt32(0), intstr.FromInt32(1)},
		{10, intstr.FromInt32(3), intstr.FromInt32(0)},
		{10, intstr.FromString("30%"), intstr.FromInt32(2)},
		// The 100-replica runs (skipped with -short: the race
		// detector run).
		{100, intstr.FromString("25%"), intstr.FromString("25%")},
		{100, intstr.FromInt32(0), intstr.FromString("10%")},
		{100, intstr.FromString("5%"), intstr.FromInt32(0)},
	}
	e := start(t, &controllertest.Node{})
	for i, tc := range cases {
		name := fmt.Sprintf("roll%d", i)
		t.Run(fmt.Sprintf("%d-%s-%s", tc.replicas, tc.surge.String(), tc.unavailable.String()), func(t *testing.T) {
			if tc.replicas > 10 && testing.Short() {
				t.Skip("100 replicas: not in -short mode")
			}
			n := int(tc.replicas)
			e := *e
			e.t = t
			d := newDeployment(name, tc.replicas, "v1")
			d.Spec.Strategy = rolling(tc.surge, tc.unavailable)
			if _, err := e.client.AppsV1().Deployments(e.ns).Create(e.ctx, d, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			d = e.waitComplete(name)
			surge, unavail := MaxSurge(d), MaxUnavailable(d)
			c := e.watchPods(name, func(active []*corev1.Pod) string {
				ready := 0
				for _, p := range active {
					if isReady(p) {
						ready++
					}
				}
				if len(active) > n+int(surge) {
					return fmt.Sprintf("%d pods > replicas+maxSurge = %d", len(active), n+int(surge))
				}
				if ready < n-int(unavail) {
					return fmt.Sprintf("%d available < replicas-maxUnavailable = %d", ready, n-int(unavail))
				}
				return ""
			})
			e.setImage(name, "v2")
			d = e.waitComplete(name)
			c.assertClean(t)
			if d.Annotations[RevisionAnnotation] != "2" {
				t.Errorf("deployment revision = %q, want 2", d.Annotations[RevisionAnnotation])
			}
			for _, rs := range e.replicaSets(name) {
				want := int32(0)
				if rs.Spec.Template.Spec.Containers[0].Image == "v2" {
					want = tc.replicas
					hash := ComputeHash(&d.Spec.Template, d.Status.CollisionCount)
					if rs.Name != name+"-"+hash || rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
						t.Errorf("new rs %s labels %v, want hash %s", rs.Name, rs.Labels, hash)
					}
					if !EqualIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
						t.Errorf("rs template differs from the deployment's")
					}
				}
				if *rs.Spec.Replicas != want {
					t.Errorf("rs %s has %d replicas, want %d", rs.Name, *rs.Spec.Replicas, want)
				}
			}
		})
	}
}

func TestRecreate(t *testing.T) {
	e := start(t, &controllertest.Node{StartDelay: 50 * time.Millisecond})
	d := newDeployment("re", 5, "v1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if _, err := e.client.AppsV1().Deployments(e.ns).Create(e.ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitComplete("re")
	var mu sync.Mutex
	seen := map[string]bool{} // pod names of v2 seen
	f := informers.NewSharedInformerFactoryWithOptions(e.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "app=re" }))
	inf := f.Core().V1().Pods().Informer()
	var violation string
	observe := func(any) {
		mu.Lock()
		defer mu.Unlock()
		old, nw := 0, 0
		for _, o := range inf.GetStore().List() {
			p := o.(*corev1.Pod)
			if p.Spec.Containers[0].Image == "v1" {
				old++ // terminating ones too: they still run
			} else {
				nw++
				seen[p.Name] = true
			}
		}
		if old > 0 && nw > 0 && violation == "" {
			violation = fmt.Sprintf("%d new pods while %d old pods exist", nw, old)
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: observe, UpdateFunc: func(_, o any) { observe(o) }, DeleteFunc: observe})
	ctx, cancel := context.WithCancel(e.ctx)
	defer func() { cancel(); f.Shutdown() }()
	f.Start(ctx.Done())
	cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
	e.setImage("re", "v2")
	e.waitComplete("re")
	mu.Lock()
	defer mu.Unlock()
	if violation != "" {
		t.Error(violation)
	}
	if len(seen) != 5 {
		t.Errorf("saw %d new pods, want 5", len(seen))
	}
}

func TestRolloverAndProportionalScaling(t *testing.T) {
	node := &controllertest.Node{}
	node.Ready = func(p *corev1.Pod) bool { return p.Spec.Containers[0].Image != "v2" }
	e := start(t, node)
	d := newDeployment("ro", 10, "v1")
	d.Spec.Strategy = rolling(intstr.FromInt32(3), intstr.FromInt32(2))
	if _, err := e.client.AppsV1().Deployments(e.ns).Create(e.ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitComplete("ro")
	e.setImage("ro", "v2") // v2 pods never become ready: stuck at old 8, new 5
	sizes := func() map[string]int32 {
		m := map[string]int32{}
		for _, rs := range e.replicaSets("ro") {
			m[rs.Spec.Template.Spec.Containers[0].Image] = *rs.Spec.Replicas
		}
		return m
	}
	e.eventually("stuck rollout 8/5", 30*time.Second, func() (bool, string) {
		m := sizes()
		return m["v1"] == 8 && m["v2"] == 5, fmt.Sprint(m)
	})
	// Proportional scaling: 10 → 20 while two ReplicaSets are active.
	e.patch("ro", `{"spec":{"replicas":20}}`)
	e.eventually("proportional 14/9", 30*time.Second, func() (bool, string) {
		m := sizes()
		return m["v1"] == 14 && m["v2"] == 9, fmt.Sprint(m)
	})
	// Rollover: a new template mid-rollout replaces v2 with v3.
	e.setImage("ro", "v3")
	d = e.waitComplete("ro")
	m := sizes()
	if m["v1"] != 0 || m["v2"] != 0 || m["v3"] != 20 {
		t.Errorf("sizes after rollover = %v", m)
	}
	if d.Annotations[RevisionAnnotation] != "3" {
		t.Errorf("revision = %s", d.Annotations[RevisionAnnotation])
	}
}

func TestPauseResume(t *testing.T) {
	e := start(t, &controllertest.Node{})
	d := newDeployment("pz", 3, "v1")
	if _, err := e.client.AppsV1().Deployments(e.ns).Create(e.ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitComplete("pz")
	e.patch("pz", `{"spec":{"paused":true}}`)
	e.setImage("pz", "v2")
	e.eventually("paused condition", 10*time.Second, func() (bool, string) {
		d := e.get("pz")
		c := GetCondition(d.Status, appsv1.DeploymentProgressing)
		return d.Status.ObservedGeneration == d.Generation && c != nil && c.Reason == ReasonPaused && c.Status == corev1.ConditionUnknown, fmt.Sprintf("%+v", d.Status)
	})
	// Paused scaling still works, without a new ReplicaSet.
	e.patch("pz", `{"spec":{"replicas":5}}`)
	e.eventually("paused scale", 10*time.Second, func() (bool, string) {
		d := e.get("pz")
		return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 5, fmt.Sprintf("%+v", d.Status)
	})
	if n := len(e.replicaSets("pz")); n != 1 {
		t.Fatalf("%d replica sets while paused, want 1", n)
	}
	e.patch("pz", `{"spec":{"paused":null}}`)
	d = e.waitComplete("pz")
	if n := len(e.replicaSets("pz")); n != 2 {
		t.Fatalf("%d replica sets after resume, want 2", n)
	}
}

func TestProgressDeadlineExceeded(t *testing.T) {
	node := &controllertest.Node{}
	node.Ready = func(p *corev1.Pod) bool { return p.Spec.Containers[0].Image != "broken" }
	e := start(t, node)
	d := newDeployment("dl", 2, "broken")
	deadline := int32(2)
	d.Spec.ProgressDeadlineSeconds = &deadline
	if _, err := e.client.AppsV1().Deployments(e.ns).Create(e.ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("ProgressDeadlineExceeded", 20*time.Second, func() (bool, string) {
		d := e.get("dl")
		c := GetCondition(d.Status, appsv1.DeploymentProgressing)
		if c == nil || c.Reason != ReasonTimedOut {
			return false, fmt.Sprintf("%+v", d.Status.Conditions)
		}
		a := GetCondition(d.Status, appsv1.DeploymentAvailable)
		ok := c.Status == corev1.ConditionFalse && strings.HasPrefix(c.Message, `ReplicaSet "dl-`) && strings.HasSuffix(c.Message, `" has timed out progressing.`) &&
			a != nil && a.Reason == ReasonMinUnavailable && a.Status == corev1.ConditionFalse
		return ok, fmt.Sprintf("%+v", d.Status.Conditions)
	})
}

func TestRevisionHistoryAndUndo(t *testing.T) {
	e := start(t, &controllertest.Node{})
	d := newDeployment("hist", 2, "v1")
	limit := int32(2)
	d.Spec.RevisionHistoryLimit = &limit
	d.Annotations = map[string]string{ChangeCauseAnnotation: "create v1"}
	if _, err := e.client.AppsV1().Deployments(e.ns).Create(e.ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitComplete("hist")
	for _, v := range []string{"v2", "v3", "v4"} {
		e.patch("hist", fmt.Sprintf(`{"metadata":{"annotations":{%q:"set image %s"}},"spec":{"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}}`, ChangeCauseAnnotation, v, v))
		e.waitComplete("hist")
	}
	byImage := map[string]appsv1.ReplicaSet{}
	e.eventually("history trimmed to 2 old + new", 20*time.Second, func() (bool, string) {
		rss := e.replicaSets("hist")
		byImage = map[string]appsv1.ReplicaSet{}
		for _, rs := range rss {
			byImage[rs.Spec.Template.Spec.Containers[0].Image] = rs
		}
		return len(rss) == 3, fmt.Sprint(len(rss), " replica sets")
	})
	for img, rev := range map[string]string{"v2": "2", "v3": "3", "v4": "4"} {
		rs, ok := byImage[img]
		if !ok {
			t.Fatalf("no replica set for %s (have %v)", img, byImage)
		}
		if rs.Annotations[RevisionAnnotation] != rev || rs.Annotations[ChangeCauseAnnotation] != "set image "+img {
			t.Errorf("rs %s annotations %v", rs.Name, rs.Annotations)
		}
		if rs.Annotations[DesiredReplicasAnnotation] != "2" || rs.Annotations[MaxReplicasAnnotation] != "3" {
			t.Errorf("rs %s replicas annotations %v", rs.Name, rs.Annotations)
		}
	}
	if got := e.get("hist").Annotations[RevisionAnnotation]; got != "4" {
		t.Errorf("deployment revision %s, want 4", got)
	}
	// kubectl rollout undo: the template and annotations of revision 3
	// are written back; its ReplicaSet becomes revision 5.
	rs3 := byImage["v3"]
	tmpl := rs3.Spec.Template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	cur := e.get("hist")
	cur.Spec.Template = *tmpl
	cur.Annotations[ChangeCauseAnnotation] = rs3.Annotations[ChangeCauseAnnotation]
	if _, err := e.client.AppsV1().Deployments(e.ns).Update(e.ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d = e.waitComplete("hist")
	e.eventually("revision 5 on the v3 replica set", 10*time.Second, func() (bool, string) {
		for _, rs := range e.replicaSets("hist") {
			if rs.Name == rs3.Name {
				return rs.Annotations[RevisionAnnotation] == "5" && rs.Annotations[RevisionHistoryAnnotation] == "3" && *rs.Spec.Replicas == 2, fmt.Sprint(rs.Annotations)
			}
		}
		return false, "gone"
	})
	if d.Annotations[RevisionAnnotation] != "5" {
		t.Errorf("deployment revision %s, want 5", d.Annotations[RevisionAnnotation])
	}
}
