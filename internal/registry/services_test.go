package registry_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/internal/defaulting"
	"github.com/skiff-dev/skiff/internal/registry"
	"github.com/skiff-dev/skiff/internal/storage/etcd3"
	"github.com/skiff-dev/skiff/internal/storage/storagetest"
	"github.com/skiff-dev/skiff/internal/validation"
)

func newRegistry(t testing.TB, cidr string) *registry.Registry {
	t.Helper()
	scheme, err := registry.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(registry.Config{
		Storage: etcd3.New(storagetest.NewEtcd(t)), Scheme: scheme, ServiceCIDR: netip.MustParsePrefix(cidr),
		NodePortBase: 30000, NodePortCount: 20,
		Hooks: registry.Hooks{Default: defaulting.Default, ValidateCreate: validation.ValidateCreate,
			ValidateUpdate: validation.ValidateUpdate, ValidateStatusUpdate: validation.ValidateStatusUpdate},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.EnsureSystemNamespaces(t.Context()); err != nil {
		t.Fatal(err)
	}
	return reg
}

func service(name string, typ corev1.ServiceType) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.ServiceSpec{Type: typ, Ports: []corev1.ServicePort{{Port: 80}}},
	}
}

// TestClusterIPsUniqueUnderConcurrency creates services concurrently in a
// small range: every create gets a distinct address until the range is
// full, and deleting a service frees its address.
func TestClusterIPsUniqueUnderConcurrency(t *testing.T) {
	reg := newRegistry(t, "127.96.0.0/27") // 30 usable addresses
	svcs := reg.Store(corev1.SchemeGroupVersion.WithResource("services"))
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]string{}
	var full int
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := svcs.Create(ctx, service(fmt.Sprintf("s%d", i), corev1.ServiceTypeClusterIP), registry.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if strings.Contains(err.Error(), "range is full") {
					full++
					return
				}
				t.Errorf("create s%d: %v", i, err)
				return
			}
			ip := out.(*corev1.Service).Spec.ClusterIP
			if other, dup := seen[ip]; dup {
				t.Errorf("%s given to both %s and s%d", ip, other, i)
			}
			seen[ip] = fmt.Sprintf("s%d", i)
		}()
	}
	wg.Wait()
	if len(seen) != 30 || full != 10 {
		t.Fatalf("%d allocated, %d refused; want 30 and 10", len(seen), full)
	}
	var victim, freed string
	for ip, name := range seen {
		victim, freed = name, ip
		break
	}
	if _, _, err := svcs.Delete(ctx, "default", victim, nil); err != nil {
		t.Fatal(err)
	}
	req := service("again", corev1.ServiceTypeClusterIP)
	req.Spec.ClusterIP = freed
	out, err := svcs.Create(ctx, req, registry.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting the freed %s: %v", freed, err)
	}
	if got := out.(*corev1.Service).Spec.ClusterIPs; len(got) != 1 || got[0] != freed {
		t.Fatalf("clusterIPs %v, want [%s]", got, freed)
	}
}

func TestServiceAllocationErrorsAndTypeChanges(t *testing.T) {
	reg := newRegistry(t, "127.96.0.0/24")
	svcs := reg.Store(corev1.SchemeGroupVersion.WithResource("services"))
	ctx := context.Background()
	bad := service("out", corev1.ServiceTypeClusterIP)
	bad.Spec.ClusterIP = "10.0.0.1"
	_, err := svcs.Create(ctx, bad, registry.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), `spec.clusterIPs: Invalid value: ["10.0.0.1"]: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 127.96.0.0/24`) {
		t.Fatalf("out-of-range IP: %v", err)
	}
	np := service("np", corev1.ServiceTypeNodePort)
	np.Spec.Ports[0].NodePort = 30005
	if _, err := svcs.Create(ctx, np, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	np2 := service("np2", corev1.ServiceTypeNodePort)
	np2.Spec.Ports[0].NodePort = 30005
	_, err = svcs.Create(ctx, np2, registry.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "spec.ports[0].nodePort: Invalid value: 30005: provided port is already allocated") {
		t.Fatalf("taken node port: %v", err)
	}
	// NodePort -> ClusterIP frees the port; a replace without clusterIP
	// keeps the address.
	cur, err := svcs.Get(ctx, "default", "np")
	if err != nil {
		t.Fatal(err)
	}
	ip := cur.(*corev1.Service).Spec.ClusterIP
	_, _, err = svcs.Update(ctx, "default", "np", func(o runtime.Object) (runtime.Object, error) {
		s := o.(*corev1.Service)
		s.Spec.Type = corev1.ServiceTypeClusterIP
		s.Spec.Ports[0].NodePort = 0
		s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
		s.ResourceVersion = ""
		return s, nil
	}, registry.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ = svcs.Get(ctx, "default", "np")
	if got := cur.(*corev1.Service).Spec.ClusterIP; got != ip {
		t.Fatalf("clusterIP after replace = %q, want %q kept", got, ip)
	}
	if _, err := svcs.Create(ctx, np2, registry.CreateOptions{}); err != nil {
		t.Fatalf("node port not freed by the type change: %v", err)
	}
	// ExternalName frees the address.
	_, _, err = svcs.Update(ctx, "default", "np", func(o runtime.Object) (runtime.Object, error) {
		s := o.(*corev1.Service)
		s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "db.example"
		s.ResourceVersion = ""
		return s, nil
	}, registry.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again := service("again", corev1.ServiceTypeClusterIP)
	again.Spec.ClusterIP = ip
	if _, err := svcs.Create(ctx, again, registry.CreateOptions{}); err != nil {
		t.Fatalf("address not freed by ExternalName: %v", err)
	}
}
