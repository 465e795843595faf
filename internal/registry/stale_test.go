package registry_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/internal/defaulting"
	"github.com/skiff-dev/skiff/internal/registry"
	"github.com/skiff-dev/skiff/internal/storage"
	"github.com/skiff-dev/skiff/internal/storage/etcd3"
	"github.com/skiff-dev/skiff/internal/storage/storagetest"
	"github.com/skiff-dev/skiff/internal/validation"
)

// staleCache is a store whose "watch cache" answers GetRecent with the
// values it was told to remember: a cache lagging behind etcd.
type staleCache struct {
	storage.Interface
	mu   sync.Mutex
	kept map[string]storage.KV
}

func (c *staleCache) GetRecent(key string) (storage.KV, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kv, ok := c.kept[key]
	return kv, ok
}

func (c *staleCache) remember(t *testing.T, key string) {
	t.Helper()
	kv, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.kept[key] = kv
	c.mu.Unlock()
}

// Updates start from the cache's copy but never let a stale copy decide:
// conflicts, no-ops and errors are retried from a current read.
func TestUpdateFromStaleCache(t *testing.T) {
	scheme, err := registry.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cache := &staleCache{Interface: etcd3.New(storagetest.NewEtcd(t)), kept: map[string]storage.KV{}}
	reg, err := registry.New(registry.Config{
		Storage: cache, Scheme: scheme, ServiceCIDR: netip.MustParsePrefix("127.96.0.0/24"),
		Hooks: registry.Hooks{Default: defaulting.Default, ValidateCreate: validation.ValidateCreate,
			ValidateUpdate: validation.ValidateUpdate, ValidateStatusUpdate: validation.ValidateStatusUpdate},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := reg.EnsureSystemNamespaces(ctx); err != nil {
		t.Fatal(err)
	}
	pods := reg.Store(corev1.SchemeGroupVersion.WithResource("pods"))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	if _, err := pods.Create(ctx, pod, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const key = "/registry/core/pods/default/p"
	cache.remember(t, key)
	label := func(k, v string) registry.UpdateFunc {
		return func(cur runtime.Object) (runtime.Object, error) {
			p := cur.(*corev1.Pod)
			if p.Labels == nil {
				p.Labels = map[string]string{}
			}
			p.Labels[k] = v
			return p, nil
		}
	}
	// etcd moves on; the cache keeps the first version.
	first, _, err := pods.Update(ctx, "default", "p", label("a", "1"), registry.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// An update from the stale copy would lose a=1: it must be retried.
	out, _, err := pods.Update(ctx, "default", "p", label("b", "2"), registry.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l := out.(*corev1.Pod).Labels; l["a"] != "1" || l["b"] != "2" {
		t.Fatalf("labels %v: the update was based on the stale copy", l)
	}
	// A no-op judged on the stale copy must be judged again on the
	// current object: the cache has c=3, etcd lost it since; setting c=3
	// is a write, not a no-op.
	if _, _, err := pods.Update(ctx, "default", "p", label("c", "3"), registry.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cache.remember(t, key)
	unlabel := func(cur runtime.Object) (runtime.Object, error) {
		delete(cur.(*corev1.Pod).Labels, "c")
		return cur, nil
	}
	if _, _, err := pods.Update(ctx, "default", "p", unlabel, registry.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pods.Update(ctx, "default", "p", label("c", "3"), registry.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, "default", "p")
	if err != nil {
		t.Fatal(err)
	}
	if l := got.(*corev1.Pod).Labels; l["c"] != "3" {
		t.Fatalf("labels %v: a stale copy made the update a no-op", l)
	}
	// A conditional update with the stale copy's resourceVersion is a 409,
	// one with the current resourceVersion succeeds although the cache
	// disagrees.
	withRV := func(rv string) registry.UpdateFunc {
		return func(cur runtime.Object) (runtime.Object, error) {
			p := cur.(*corev1.Pod)
			if p.ResourceVersion != rv {
				return nil, apierrors.NewConflict(corev1.Resource("pods"), "p", nil)
			}
			p.Labels["d"] = "4"
			return p, nil
		}
	}
	if _, _, err := pods.Update(ctx, "default", "p", withRV(first.(*corev1.Pod).ResourceVersion), registry.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale resourceVersion: %v, want a conflict", err)
	}
	now, err := pods.Get(ctx, "default", "p")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pods.Update(ctx, "default", "p", withRV(now.(*corev1.Pod).ResourceVersion), registry.UpdateOptions{}); err != nil {
		t.Fatalf("current resourceVersion: %v", err)
	}
}
