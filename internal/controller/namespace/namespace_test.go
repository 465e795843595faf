package namespace_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/skiff-dev/skiff/internal/controller/namespace"
	"github.com/skiff-dev/skiff/internal/testserver"
)

// start runs a control plane and a namespace controller against it.
func start(t *testing.T) kubernetes.Interface {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	mc, err := metadata.NewForConfig(srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(srv.Client, 0)
	c, err := namespace.New(namespace.Config{
		Client: srv.Client, Metadata: mc, Namespaces: factory.Core().V1().Namespaces(), Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
		factory.Shutdown()
	})
	return srv.Client
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v (last error: %v)", what, timeout, lastErr)
}

func createNS(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
}

func nsGone(c kubernetes.Interface, name string) func() (bool, error) {
	return func() (bool, error) {
		_, err := c.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func pod(name, node string, finalizers ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}, Finalizers: finalizers},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

func TestNamespaceDeletionRemovesContent(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	const ns = "doomed"
	createNS(t, c, ns)
	for _, name := range []string{"a", "b", "c"} {
		_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		must(t, err)
	}
	_, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, metav1.CreateOptions{})
	must(t, err)
	_, err = c.CoreV1().Pods(ns).Create(ctx, pod("p", ""), metav1.CreateOptions{})
	must(t, err)
	one := int32(1)
	labels := map[string]string{"app": "web"}
	_, err = c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d"},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}},
	}, metav1.CreateOptions{})
	must(t, err)
	// A namespace not being deleted keeps its content.
	createNS(t, c, "kept")
	_, err = c.CoreV1().ConfigMaps("kept").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "k"}}, metav1.CreateOptions{})
	must(t, err)

	must(t, c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
	eventually(t, 10*time.Second, "namespace removed", nsGone(c, ns))
	cms, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	must(t, err)
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	must(t, err)
	ds, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	must(t, err)
	if n := len(cms.Items) + len(pods.Items) + len(ds.Items); n != 0 {
		t.Errorf("%d objects left in the deleted namespace", n)
	}
	if _, err := c.CoreV1().ConfigMaps("kept").Get(ctx, "k", metav1.GetOptions{}); err != nil {
		t.Errorf("content of another namespace: %v", err)
	}
}

func TestNamespaceWaitsForFinalizersAndGracefulPods(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	const ns = "slow"
	createNS(t, c, ns)
	_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"test.skiff.dev/hold"}},
	}, metav1.CreateOptions{})
	must(t, err)
	// A pod on a node is deleted gracefully: it stays until its node (here:
	// the test) confirms.
	_, err = c.CoreV1().Pods(ns).Create(ctx, pod("running", "node-a"), metav1.CreateOptions{})
	must(t, err)

	must(t, c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
	eventually(t, 10*time.Second, "conditions report what remains", func() (bool, error) {
		n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var content, fin bool
		for _, cond := range n.Status.Conditions {
			switch {
			case cond.Type == corev1.NamespaceContentRemaining && cond.Status == corev1.ConditionTrue:
				content = true
			case cond.Type == corev1.NamespaceFinalizersRemaining && cond.Status == corev1.ConditionTrue:
				fin = true
			}
		}
		return content && fin && n.Status.Phase == corev1.NamespaceTerminating, nil
	})
	eventually(t, 10*time.Second, "pod marked for deletion", func() (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "running", metav1.GetOptions{})
		return err == nil && p.DeletionTimestamp != nil, err
	})

	// The node confirms the pod stopped; the finalizer is released.
	zero := int64(0)
	must(t, c.CoreV1().Pods(ns).Delete(ctx, "running", metav1.DeleteOptions{GracePeriodSeconds: &zero}))
	if _, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace gone while a finalizer holds content: %v", err)
	}
	_, err = c.CoreV1().ConfigMaps(ns).Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	must(t, err)
	eventually(t, 10*time.Second, "namespace removed", nsGone(c, ns))
}
