package garbagecollector_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/internal/controller/garbagecollector"
	"github.com/skiff-dev/skiff/internal/testserver"
)

const ns = "default"

// start runs a control plane and a garbage collector against it.
func start(t *testing.T) kubernetes.Interface {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	gc, err := garbagecollector.New(garbagecollector.Config{REST: srv.Config, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gc.Run(ctx) }()
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
	})
	return srv.Client
}

// eventually polls cond until it holds or the deadline passes.
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

func ref(apiVersion, kind, name string, uid types.UID, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, BlockOwnerDeletion: &block}
}

func cmRef(cm *corev1.ConfigMap, block bool) metav1.OwnerReference {
	return ref("v1", "ConfigMap", cm.Name, cm.UID, block)
}

func createCM(t *testing.T, c kubernetes.Interface, name string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create configmap %s: %v", name, err)
	}
	return cm
}

func createPod(t *testing.T, c kubernetes.Interface, name string, finalizers []string, owners ...metav1.OwnerReference) *corev1.Pod {
	t.Helper()
	p, err := c.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}, OwnerReferences: owners, Finalizers: finalizers},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	return p
}

func deleteWith(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
}

func opts(p metav1.DeletionPropagation) metav1.DeleteOptions {
	return metav1.DeleteOptions{PropagationPolicy: &p}
}

func cmGone(c kubernetes.Interface, name string) func() (bool, error) {
	return func() (bool, error) {
		_, err := c.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	}
}

func podGone(c kubernetes.Interface, name string) func() (bool, error) {
	return func() (bool, error) {
		_, err := c.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	}
}

func mustExistCM(t *testing.T, c kubernetes.Interface, name string) *corev1.ConfigMap {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("configmap %s: %v", name, err)
	}
	return cm
}

func TestBackgroundCascade(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	owner := createCM(t, c, "owner")
	keeperOwner := createCM(t, c, "keeper-owner")
	createCM(t, c, "dep1", cmRef(owner, false))
	createCM(t, c, "dep2", cmRef(owner, true))
	createPod(t, c, "dep-pod", nil, cmRef(owner, false))
	createCM(t, c, "keeper", cmRef(keeperOwner, false))
	// Two owners, one deleted: the object stays and forgets the gone one.
	createCM(t, c, "shared", cmRef(owner, false), cmRef(keeperOwner, false))

	deleteWith(t, c.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", opts(metav1.DeletePropagationBackground)))
	for _, name := range []string{"owner", "dep1", "dep2"} {
		eventually(t, 10*time.Second, "configmap "+name+" deleted", cmGone(c, name))
	}
	eventually(t, 10*time.Second, "pod deleted", podGone(c, "dep-pod"))
	eventually(t, 10*time.Second, "shared loses the gone owner", func() (bool, error) {
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "shared", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == keeperOwner.UID, nil
	})
	mustExistCM(t, c, "keeper")
	mustExistCM(t, c, "shared")
}

// chain builds a Deployment → ReplicaSet → Pod chain by hand, with the
// references the controllers would set.
func chain(t *testing.T, c kubernetes.Interface, prefix string) (*appsv1.Deployment, *appsv1.ReplicaSet, []*corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	one := int32(1)
	d, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: prefix},
		Spec:       appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	yes := true
	dref := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: &yes, BlockOwnerDeletion: &yes}
	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: prefix + "-rs", OwnerReferences: []metav1.OwnerReference{dref}},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create replicaset: %v", err)
	}
	rsref := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes, BlockOwnerDeletion: &yes}
	var pods []*corev1.Pod
	for i := range 3 {
		pods = append(pods, createPod(t, c, fmt.Sprintf("%s-pod-%d", prefix, i), nil, rsref))
	}
	return d, rs, pods
}

func TestDeploymentChainBackground(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	d, rs, pods := chain(t, c, "web")
	begin := time.Now()
	deleteWith(t, c.AppsV1().Deployments(ns).Delete(ctx, d.Name, opts(metav1.DeletePropagationBackground)))
	eventually(t, 10*time.Second, "replicaset deleted", func() (bool, error) {
		_, err := c.AppsV1().ReplicaSets(ns).Get(ctx, rs.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	for _, p := range pods {
		eventually(t, 10*time.Second, "pod deleted", podGone(c, p.Name))
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("cascade took %v, want about 1s at most", took)
	} else {
		t.Logf("cascade took %v", took)
	}
}

func TestDeploymentChainForeground(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	d, rs, pods := chain(t, c, "fg")
	deleteWith(t, c.AppsV1().Deployments(ns).Delete(ctx, d.Name, opts(metav1.DeletePropagationForeground)))
	eventually(t, 10*time.Second, "deployment deleted", func() (bool, error) {
		_, err := c.AppsV1().Deployments(ns).Get(ctx, d.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	// Foreground: by the time the owner is gone, its blocking dependents
	// (and theirs) are gone too.
	if _, err := c.AppsV1().ReplicaSets(ns).Get(ctx, rs.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("replicaset still there after its deployment: %v", err)
	}
	for _, p := range pods {
		if _, err := c.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("pod %s still there after its deployment: %v", p.Name, err)
		}
	}
}

func TestForegroundWaitsForBlockingDependents(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	owner := createCM(t, c, "owner")
	// The test's finalizer holds the blocking dependent in deletion.
	createPod(t, c, "blocker", []string{"test.skiff.dev/hold"}, cmRef(owner, true))
	createCM(t, c, "non-blocking", cmRef(owner, false))

	deleteWith(t, c.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", opts(metav1.DeletePropagationForeground)))
	eventually(t, 10*time.Second, "blocker marked for deletion", func() (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "blocker", metav1.GetOptions{})
		return err == nil && p.DeletionTimestamp != nil, err
	})
	eventually(t, 10*time.Second, "non-blocking dependent deleted", cmGone(c, "non-blocking"))
	o := mustExistCM(t, c, "owner")
	if o.DeletionTimestamp == nil || len(o.Finalizers) != 1 || o.Finalizers[0] != metav1.FinalizerDeleteDependents {
		t.Fatalf("owner: deletionTimestamp %v finalizers %v, want set and [foregroundDeletion]", o.DeletionTimestamp, o.Finalizers)
	}

	// Release the blocker: it goes, then the owner.
	if _, err := c.CoreV1().Pods(ns).Patch(ctx, "blocker", types.JSONPatchType,
		[]byte(`[{"op":"remove","path":"/metadata/finalizers/0"}]`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("release blocker: %v", err)
	}
	eventually(t, 10*time.Second, "blocker deleted", podGone(c, "blocker"))
	eventually(t, 10*time.Second, "owner deleted", cmGone(c, "owner"))
}

func TestOrphan(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	owner := createCM(t, c, "owner")
	other := createCM(t, c, "other")
	createCM(t, c, "dep1", cmRef(owner, true))
	createCM(t, c, "dep2", cmRef(owner, false), cmRef(other, false))
	createPod(t, c, "dep-pod", nil, cmRef(owner, true))

	deleteWith(t, c.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", opts(metav1.DeletePropagationOrphan)))
	eventually(t, 10*time.Second, "owner deleted", cmGone(c, "owner"))
	if cm := mustExistCM(t, c, "dep1"); len(cm.OwnerReferences) != 0 {
		t.Errorf("dep1 owner references = %v, want none", cm.OwnerReferences)
	}
	if cm := mustExistCM(t, c, "dep2"); len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].UID != other.UID {
		t.Errorf("dep2 owner references = %v, want only %s", cm.OwnerReferences, other.UID)
	}
	p, err := c.CoreV1().Pods(ns).Get(ctx, "dep-pod", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("orphaned pod: %v", err)
	}
	if len(p.OwnerReferences) != 0 {
		t.Errorf("pod owner references = %v, want none", p.OwnerReferences)
	}
}

func TestDanglingOwnerCollected(t *testing.T) {
	c := start(t)
	// The owner's name exists, with another UID: the reference dangles.
	createCM(t, c, "real")
	createCM(t, c, "wrong-uid", ref("v1", "ConfigMap", "real", "00000000-0000-0000-0000-00000000abcd", true))
	// Dependent first, then an owner of that name (with its own UID).
	createCM(t, c, "before-owner", ref("v1", "ConfigMap", "late", "00000000-0000-0000-0000-00000000f00d", true))
	createCM(t, c, "late")
	// The owner never existed.
	createCM(t, c, "never", ref("v1", "ConfigMap", "ghost", "00000000-0000-0000-0000-00000000beef", false))
	// A cluster-scoped owner that never existed.
	createCM(t, c, "no-node", ref("v1", "Node", "ghost-node", "00000000-0000-0000-0000-00000000cafe", false))
	for _, name := range []string{"wrong-uid", "before-owner", "never", "no-node"} {
		eventually(t, 10*time.Second, name+" collected", cmGone(c, name))
	}
	mustExistCM(t, c, "real")
	mustExistCM(t, c, "late")
}

func TestDependentBeforeOwnerCollectedAfterRestart(t *testing.T) {
	// Garbage that exists before the collector starts is found on its
	// initial list.
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	c := srv.Client
	ctx := context.Background()
	owner := createCM(t, c, "owner")
	createCM(t, c, "dep", cmRef(owner, false))
	deleteWith(t, c.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{}))

	gc, err := garbagecollector.New(garbagecollector.Config{REST: srv.Config})
	if err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- gc.Run(gctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	eventually(t, 10*time.Second, "dep collected", cmGone(c, "dep"))
}
