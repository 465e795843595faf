package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/internal/testserver"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// protobufClient talks protobuf both ways, as client-go's typed clients
// do in the controllers.
func protobufClient(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestClientGo(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	for name, cs := range map[string]kubernetes.Interface{"json": srv.Client, "protobuf": protobufClient(t, srv.Config)} {
		t.Run(name, func(t *testing.T) {
			ns := "ns-" + name
			c := ctx(t)
			if _, err := cs.CoreV1().Namespaces().Create(c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Run("crud-and-conflict", func(t *testing.T) { testCRUD(t, cs, ns) })
			t.Run("paging", func(t *testing.T) { testPaging(t, cs, ns) })
			t.Run("selectors", func(t *testing.T) { testSelectors(t, cs, ns) })
			t.Run("watch-resume", func(t *testing.T) { testWatchResume(t, cs, ns) })
			t.Run("informer", func(t *testing.T) { testInformer(t, cs, ns) })
		})
	}
	t.Run("metadata-client", func(t *testing.T) { testMetadata(t, srv) })
	t.Run("unauthenticated", func(t *testing.T) { testUnauthenticated(t, srv) })
}

func testCRUD(t *testing.T, cs kubernetes.Interface, ns string) {
	c := ctx(t)
	cms := cs.CoreV1().ConfigMaps(ns)
	cm, err := cms.Create(c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.UID == "" || cm.ResourceVersion == "" || cm.CreationTimestamp.IsZero() {
		t.Fatalf("server-set metadata missing: %+v", cm.ObjectMeta)
	}
	if _, err := cms.Create(c, cm, metav1.CreateOptions{}); !apierrors.IsBadRequest(err) && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create with resourceVersion / existing: %v", err)
	}
	cm.ResourceVersion = ""
	if _, err := cms.Create(c, cm, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("duplicate create: %v", err)
	}
	got, err := cms.Get(c, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Data["k"] = "v2"
	upd, err := cms.Update(c, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if upd.ResourceVersion == got.ResourceVersion {
		t.Fatalf("update did not change resourceVersion")
	}
	got.Data["k"] = "stale"
	if _, err := cms.Update(c, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: got %v, want Conflict", err)
	}
	// An update that changes nothing keeps the resourceVersion.
	same, err := cms.Update(c, upd, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if same.ResourceVersion != upd.ResourceVersion {
		t.Fatalf("no-op update wrote: %s -> %s", upd.ResourceVersion, same.ResourceVersion)
	}
	if err := cms.Delete(c, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(c, "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := cms.Delete(c, "a", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}

func testPaging(t *testing.T, cs kubernetes.Interface, ns string) {
	c := ctx(t)
	for i := 0; i < 25; i++ {
		if _, err := cs.CoreV1().Secrets(ns).Create(c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s-%02d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opts := metav1.ListOptions{Limit: 10}
	pages := 0
	for {
		l, err := cs.CoreV1().Secrets(ns).List(c, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range l.Items {
			names = append(names, s.Name)
		}
		if pages == 1 && (l.RemainingItemCount == nil || *l.RemainingItemCount != 15) {
			t.Fatalf("first page remainingItemCount = %v, want 15", l.RemainingItemCount)
		}
		if pages == 1 {
			// A write between pages must not show up in later pages: they
			// are read at the first page's revision.
			if _, err := cs.CoreV1().Secrets(ns).Create(c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s-99"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	if pages != 3 || len(names) != 25 || names[0] != "s-00" || names[24] != "s-24" {
		t.Fatalf("paging: %d pages, %d names: %v", pages, len(names), names)
	}
}

func testSelectors(t *testing.T, cs kubernetes.Interface, ns string) {
	c := ctx(t)
	for i, node := range []string{"n1", "n2", "n1"} {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"app": fmt.Sprint("a", i%2)}},
			Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "img"}}},
		}
		if _, err := cs.CoreV1().Pods(ns).Create(c, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := cs.CoreV1().Pods(ns).List(c, metav1.ListOptions{FieldSelector: "spec.nodeName=n1"})
	if err != nil || len(l.Items) != 2 {
		t.Fatalf("field selector: %v items, err %v", len(l.Items), err)
	}
	l, err = cs.CoreV1().Pods(ns).List(c, metav1.ListOptions{LabelSelector: "app=a1"})
	if err != nil || len(l.Items) != 1 || l.Items[0].Name != "p1" {
		t.Fatalf("label selector: %+v, err %v", l.Items, err)
	}
	l, err = cs.CoreV1().Pods("").List(c, metav1.ListOptions{FieldSelector: "metadata.namespace=" + ns + ",status.phase=Pending"})
	if err != nil || len(l.Items) != 3 {
		t.Fatalf("all-namespaces field selector: %d items, err %v", len(l.Items), err)
	}
	_, err = cs.CoreV1().Pods(ns).List(c, metav1.ListOptions{FieldSelector: "spec.bogus=x"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "field label not supported: spec.bogus") {
		t.Fatalf("unsupported field selector: %v", err)
	}
}

func testWatchResume(t *testing.T, cs kubernetes.Interface, ns string) {
	c := ctx(t)
	cms := cs.CoreV1().ConfigMaps(ns)
	first, err := cms.Create(c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(c, "w1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(c, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	want := []string{"ADDED w2", "DELETED w1"}
	for _, exp := range want {
		select {
		case ev := <-w.ResultChan():
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				t.Fatalf("event object %T: %+v", ev.Object, ev.Object)
			}
			if got := fmt.Sprint(ev.Type, " ", cm.Name); got != exp {
				t.Fatalf("event %q, want %q", got, exp)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event, want %q", exp)
		}
	}
	// A watch without resourceVersion starts with the current objects.
	w2, err := cms.Watch(c, metav1.ListOptions{FieldSelector: "metadata.name=w2"})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	select {
	case ev := <-w2.ResultChan():
		if ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "w2" {
			t.Fatalf("initial event %v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no initial ADDED event")
	}
}

func testInformer(t *testing.T, cs kubernetes.Interface, ns string) {
	c := ctx(t)
	if _, err := cs.CoreV1().Services(ns).Create(c, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "before"},
		Spec: corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := f.Core().V1().Services().Informer()
	events := make(chan string, 10)
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { events <- "add " + o.(*corev1.Service).Name },
		UpdateFunc: func(_, o any) { events <- "update " + o.(*corev1.Service).Name },
		DeleteFunc: func(o any) {
			if s, ok := o.(*corev1.Service); ok {
				events <- "delete " + s.Name
			}
		},
	})
	stop := make(chan struct{})
	defer func() { close(stop); f.Shutdown() }()
	f.Start(stop)
	syncCtx, cancel := context.WithTimeout(c, 10*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("informer event %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no informer event, want %q", want)
		}
	}
	expect("add before")
	svc, err := cs.CoreV1().Services(ns).Create(c, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "after"},
		Spec: corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expect("add after")
	svc.Labels = map[string]string{"x": "y"}
	if _, err := cs.CoreV1().Services(ns).Update(c, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("update after")
	if err := cs.CoreV1().Services(ns).Delete(c, "after", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("delete after")
}

func testMetadata(t *testing.T, srv *testserver.Server) {
	mc, err := metadata.NewForConfig(srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	l, err := mc.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range l.Items {
		found = found || it.Name == "kube-system"
	}
	if !found {
		t.Fatalf("metadata list lacks kube-system: %d items", len(l.Items))
	}
	// Bookmarks reach a metadata watch as PartialObjectMetadata too.
	w, err := mc.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Watch(ctx(t), metav1.ListOptions{
		ResourceVersion: l.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("metadata watch ended")
			}
			if ev.Type == watch.Error {
				t.Fatalf("metadata watch error: %+v", ev.Object)
			}
			if ev.Type == watch.Bookmark {
				if _, ok := ev.Object.(*metav1.PartialObjectMetadata); !ok {
					t.Fatalf("bookmark object %T", ev.Object)
				}
				return
			}
		case <-deadline:
			t.Fatal("no bookmark within 15s")
		}
	}
}

func testUnauthenticated(t *testing.T, srv *testserver.Server) {
	cfg := rest.AnonymousClientConfig(srv.Config)
	cs := kubernetes.NewForConfigOrDie(cfg)
	_, err := cs.CoreV1().Namespaces().List(ctx(t), metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("anonymous list: %v, want Unauthorized", err)
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: rt}).Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz without credentials: %d", resp.StatusCode)
	}
}
