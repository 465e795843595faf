package statefulset_test

import (
	"context"
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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/internal/controller/controllertest"
	. "github.com/skiff-dev/skiff/internal/controller/statefulset"
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

func start(t *testing.T, node *controllertest.Node) *env {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	client := srv.Client
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, f.Apps().V1().StatefulSets(), f.Core().V1().Pods(), f.Core().V1().PersistentVolumeClaims(), f.Apps().V1().ControllerRevisions(), testLogger(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 3) }()
	waitNode := node.Start(ctx, client)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		waitNode()
		f.Shutdown()
	})
	return &env{t: t, ctx: ctx, client: client, ns: "default"}
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

func (e *env) pod(name string) *corev1.Pod {
	p, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return p
}

func (e *env) set(name string) *appsv1.StatefulSet {
	e.t.Helper()
	s, err := e.client.AppsV1().StatefulSets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func isRunningReady(p *corev1.Pod) bool {
	if p == nil || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func newSet(name string, n int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &n,
			ServiceName: "nginx",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:v1", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
}

// recorder watches pods and keeps the order of what it saw.
type recorder struct {
	mu     sync.Mutex
	events []string // "ADDED web-1", "READY web-0", "DELETED web-2"
	ready  map[string]bool
	stop   func()
}

func (e *env) record(sel string) *recorder {
	e.t.Helper()
	l, err := e.client.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := e.client.CoreV1().Pods(e.ns).Watch(e.ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: l.ResourceVersion})
	if err != nil {
		e.t.Fatal(err)
	}
	r := &recorder{ready: map[string]bool{}}
	for _, p := range l.Items {
		r.ready[p.Name] = isRunningReady(&p)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			r.mu.Lock()
			switch ev.Type {
			case watch.Added:
				r.events = append(r.events, "ADDED "+p.Name)
			case watch.Deleted:
				r.events = append(r.events, "DELETED "+p.Name)
				delete(r.ready, p.Name)
			}
			if ev.Type != watch.Deleted {
				if p.DeletionTimestamp != nil && !strings.HasPrefix(last(r.events), "TERMINATING "+p.Name) {
					r.events = append(r.events, "TERMINATING "+p.Name)
				}
				if rr := isRunningReady(p); rr && !r.ready[p.Name] {
					r.events = append(r.events, "READY "+p.Name)
				}
				r.ready[p.Name] = isRunningReady(p)
			}
			r.mu.Unlock()
		}
	}()
	r.stop = func() { w.Stop(); <-done }
	return r
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func (r *recorder) index(ev string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range r.events {
		if e == ev {
			return i
		}
	}
	return -1
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, ", ")
}

func TestStatefulSet(t *testing.T) {
	// A pod becomes Running and Ready a little after it is bound, so that
	// starting a successor too early would show in the watch.
	node := &controllertest.Node{StartDelay: 150 * time.Millisecond}
	e := start(t, node)

	rec := e.record("app=web")
	if _, err := e.client.AppsV1().StatefulSets(e.ns).Create(e.ctx, newSet("web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("3 ready pods", func() (bool, string) {
		s := e.set("web").Status
		return s.ReadyReplicas == 3 && s.Replicas == 3 && s.AvailableReplicas == 3, fmt.Sprintf("%+v", s)
	})

	t.Run("ordered start", func(t *testing.T) {
		e.eventually("web-2 ready seen", func() (bool, string) { return rec.index("READY web-2") >= 0, rec.String() })
		rec.stop()
		for i := 1; i < 3; i++ {
			added, prevReady := rec.index(fmt.Sprintf("ADDED web-%d", i)), rec.index(fmt.Sprintf("READY web-%d", i-1))
			if added < 0 || prevReady < 0 || added < prevReady {
				t.Fatalf("web-%d created before web-%d was Running and Ready: %s", i, i-1, rec)
			}
		}
	})

	t.Run("identity and storage", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			name := fmt.Sprintf("web-%d", i)
			p := e.pod(name)
			if p.Spec.Hostname != name || p.Spec.Subdomain != "nginx" ||
				p.Labels["statefulset.kubernetes.io/pod-name"] != name || p.Labels["apps.kubernetes.io/pod-index"] != fmt.Sprint(i) ||
				p.Labels["controller-revision-hash"] == "" {
				t.Fatalf("pod %s: hostname %q subdomain %q labels %v", name, p.Spec.Hostname, p.Spec.Subdomain, p.Labels)
			}
			if len(p.Spec.Volumes) == 0 || p.Spec.Volumes[0].Name != "data" || p.Spec.Volumes[0].PersistentVolumeClaim == nil ||
				p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-"+name {
				t.Fatalf("pod %s volumes %+v", name, p.Spec.Volumes)
			}
			pvc, err := e.client.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, "data-"+name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if pvc.Labels["app"] != "web" || len(pvc.OwnerReferences) != 0 {
				t.Fatalf("pvc %s labels %v owners %v", pvc.Name, pvc.Labels, pvc.OwnerReferences)
			}
		}
		s := e.set("web").Status
		if s.CurrentRevision == "" || s.CurrentRevision != s.UpdateRevision || s.CurrentReplicas != 3 || s.UpdatedReplicas != 3 || s.ObservedGeneration != e.set("web").Generation {
			t.Fatalf("status %+v", s)
		}
	})

	t.Run("deleted pod comes back with its claim", func(t *testing.T) {
		old := e.pod("web-1")
		pvc, _ := e.client.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, "data-web-1", metav1.GetOptions{})
		if err := e.client.CoreV1().Pods(e.ns).Delete(e.ctx, "web-1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("web-1 back", func() (bool, string) {
			p := e.pod("web-1")
			return p != nil && p.UID != old.UID && isRunningReady(p), "not yet"
		})
		again, err := e.client.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, "data-web-1", metav1.GetOptions{})
		if err != nil || again.UID != pvc.UID {
			t.Fatalf("claim replaced: %v", err)
		}
		if e.pod("web-1").Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-web-1" {
			t.Fatal("new web-1 does not mount data-web-1")
		}
	})

	uids := func() map[string]types.UID {
		m := map[string]types.UID{}
		for i := 0; i < 3; i++ {
			if p := e.pod(fmt.Sprintf("web-%d", i)); p != nil {
				m[p.Name] = p.UID
			}
		}
		return m
	}

	t.Run("partitioned rolling update", func(t *testing.T) {
		before := uids()
		firstRev := e.set("web").Status.CurrentRevision
		patch := `{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}},"template":{"spec":{"containers":[{"name":"c","image":"img:v2"}]}}}}`
		if _, err := e.client.AppsV1().StatefulSets(e.ns).Patch(e.ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		var updateRev string
		e.eventually("web-2 updated", func() (bool, string) {
			s := e.set("web")
			updateRev = s.Status.UpdateRevision
			p := e.pod("web-2")
			return s.Status.ObservedGeneration == s.Generation && updateRev != firstRev && p != nil && isRunningReady(p) &&
				p.Labels["controller-revision-hash"] == updateRev && s.Status.UpdatedReplicas == 1 && s.Status.ReadyReplicas == 3, fmt.Sprintf("%+v", s.Status)
		})
		s := e.set("web").Status
		if s.CurrentRevision != firstRev || s.CurrentReplicas != 2 {
			t.Fatalf("status %+v", s)
		}
		now := uids()
		for _, n := range []string{"web-0", "web-1"} {
			if now[n] != before[n] || e.pod(n).Spec.Containers[0].Image != "img:v1" {
				t.Fatalf("%s below the partition was touched", n)
			}
		}
		// Deleted below the partition, a pod comes back at the current
		// revision.
		if err := e.client.CoreV1().Pods(e.ns).Delete(e.ctx, "web-0", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("web-0 back at the current revision", func() (bool, string) {
			p := e.pod("web-0")
			return p != nil && p.UID != before["web-0"] && isRunningReady(p) && p.Labels["controller-revision-hash"] == firstRev && p.Spec.Containers[0].Image == "img:v1", "not yet"
		})
		// Partition 0 finishes the rollout.
		if _, err := e.client.AppsV1().StatefulSets(e.ns).Patch(e.ctx, "web", types.MergePatchType, []byte(`{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("rollout complete", func() (bool, string) {
			s := e.set("web")
			return s.Status.ObservedGeneration == s.Generation && s.Status.CurrentRevision == updateRev && s.Status.UpdateRevision == updateRev &&
				s.Status.UpdatedReplicas == 3 && s.Status.CurrentReplicas == 3 && s.Status.ReadyReplicas == 3, fmt.Sprintf("%+v", s.Status)
		})
	})

	t.Run("rollback via ControllerRevision", func(t *testing.T) {
		l, err := e.client.AppsV1().ControllerRevisions(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Revision < l.Items[j].Revision })
		if len(l.Items) != 2 || l.Items[0].Revision != 1 || l.Items[1].Revision != 2 {
			t.Fatalf("revisions %+v", l.Items)
		}
		first := l.Items[0]
		if !strings.HasPrefix(string(first.Data.Raw), `{"spec":{"template":{"$patch":"replace",`) || first.Labels["controller.kubernetes.io/hash"] == "" {
			t.Fatalf("revision %s: %s", first.Name, first.Data.Raw)
		}
		// What `kubectl rollout undo` does.
		if _, err := e.client.AppsV1().StatefulSets(e.ns).Patch(e.ctx, "web", types.StrategicMergePatchType, first.Data.Raw, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("rolled back", func() (bool, string) {
			s := e.set("web")
			ok := s.Status.ObservedGeneration == s.Generation && s.Status.CurrentRevision == first.Name && s.Status.UpdateRevision == first.Name && s.Status.ReadyReplicas == 3 && s.Status.UpdatedReplicas == 3
			for i := 0; i < 3 && ok; i++ {
				p := e.pod(fmt.Sprintf("web-%d", i))
				ok = p != nil && p.Spec.Containers[0].Image == "img:v1"
			}
			return ok, fmt.Sprintf("%+v", s.Status)
		})
		r, err := e.client.AppsV1().ControllerRevisions(e.ns).Get(e.ctx, first.Name, metav1.GetOptions{})
		if err != nil || r.Revision != 3 {
			t.Fatalf("rolled-back revision renumbered? %v %v", r.Revision, err)
		}
	})

	t.Run("scale down in reverse", func(t *testing.T) {
		rec := e.record("app=web")
		if _, err := e.client.AppsV1().StatefulSets(e.ns).Patch(e.ctx, "web", types.MergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("one pod left", func() (bool, string) {
			s := e.set("web").Status
			return s.Replicas == 1 && e.pod("web-1") == nil && e.pod("web-2") == nil, rec.String()
		})
		rec.stop()
		gone2, term1 := rec.index("DELETED web-2"), rec.index("TERMINATING web-1")
		if gone2 < 0 || term1 < 0 || term1 < gone2 {
			t.Fatalf("web-1 deleted before web-2 was gone: %s", rec)
		}
		for _, n := range []string{"data-web-1", "data-web-2"} {
			if _, err := e.client.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, n, metav1.GetOptions{}); err != nil {
				t.Fatalf("claim %s not retained: %v", n, err)
			}
		}
	})
}

func TestParallelAndRetention(t *testing.T) {
	node := &controllertest.Node{}
	e := start(t, node)
	set := newSet("db", 3)
	set.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	set.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 5}
	set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
	}
	// No pod becomes ready: Parallel must still create all of them.
	node.SetReady(func(*corev1.Pod) bool { return false })
	created, err := e.client.AppsV1().StatefulSets(e.ns).Create(e.ctx, set, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.eventually("db-5..7 created", func() (bool, string) {
		return e.pod("db-5") != nil && e.pod("db-6") != nil && e.pod("db-7") != nil && e.pod("db-4") == nil, "not yet"
	})
	node.SetReady(nil)
	e.eventually("ready", func() (bool, string) {
		s := e.set("db").Status
		return s.ReadyReplicas == 3, fmt.Sprintf("%+v", s)
	})
	owner := func(name string) string {
		pvc, err := e.client.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return "err: " + err.Error()
		}
		if ref := metav1.GetControllerOf(pvc); ref != nil {
			return ref.Kind + "/" + ref.Name
		}
		return "none"
	}
	e.eventually("claims owned by the set", func() (bool, string) {
		o := owner("data-db-7")
		return o == "StatefulSet/db", o
	})
	if _, err := e.client.AppsV1().StatefulSets(e.ns).Patch(e.ctx, "db", types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// Scaled down with whenScaled=Delete: the claim is handed to its pod
	// (the garbage collector then deletes it with the pod).
	e.eventually("db-7 gone", func() (bool, string) { return e.pod("db-7") == nil, owner("data-db-7") })
	if o := owner("data-db-7"); o != "Pod/db-7" && !strings.HasPrefix(o, "err") {
		t.Fatalf("scaled-down claim owner %s", o)
	}
	if o := owner("data-db-6"); o != "StatefulSet/db" {
		t.Fatalf("live claim owner %s", o)
	}
	if created.UID == "" {
		t.Fatal("no uid")
	}
}
