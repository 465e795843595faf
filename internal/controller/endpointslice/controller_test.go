package endpointslice_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/internal/controller/endpointslice"
	"github.com/skiff-dev/skiff/internal/testserver"
)

func testLogger() *slog.Logger {
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// start runs a control plane and both controllers of this package.
func start(t *testing.T) (context.Context, kubernetes.Interface) {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(srv.Client, 0)
	c, err := endpointslice.New(srv.Client, f.Core().V1().Services(), f.Core().V1().Pods(), f.Discovery().V1().EndpointSlices(), testLogger(), endpointslice.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := endpointslice.NewMirroring(srv.Client, f.Core().V1().Services(), f.Core().V1().Endpoints(), f.Discovery().V1().EndpointSlices(), testLogger(), endpointslice.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan error, 2)
	go func() { done <- c.Run(ctx, 2) }()
	go func() { done <- m.Run(ctx, 2) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
		f.Shutdown()
	})
	return ctx, srv.Client
}

func runPod(t *testing.T, ctx context.Context, c kubernetes.Interface, name, ip string, isReady bool) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{
			Name: "c", Image: "busybox", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}},
	}
	p, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = ip
	p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	return setReady(t, ctx, c, p, isReady)
}

func setReady(t *testing.T, ctx context.Context, c kubernetes.Interface, p *corev1.Pod, isReady bool) *corev1.Pod {
	t.Helper()
	st := corev1.ConditionFalse
	if isReady {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	p, err := c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitSlices polls the slices of a service managed by managedBy until ok
// accepts them.
func waitSlices(t *testing.T, ctx context.Context, c kubernetes.Interface, svc, managedBy string, ok func([]discovery.EndpointSlice) bool) []discovery.EndpointSlice {
	t.Helper()
	sel := fmt.Sprintf("%s=%s,%s=%s", discovery.LabelServiceName, svc, discovery.LabelManagedBy, managedBy)
	deadline := time.Now().Add(30 * time.Second)
	var last []discovery.EndpointSlice
	for time.Now().Before(deadline) {
		l, err := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err == nil {
			last = l.Items
			if ok(l.Items) {
				return l.Items
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	total, ready := count(last)
	t.Fatalf("slices of %s never reached the wanted state; last: %d slices, %d endpoints, %d ready", svc, len(last), total, ready)
	return nil
}

// count returns the endpoints and the ready ones across slices.
func count(ss []discovery.EndpointSlice) (total, ready int) {
	for _, s := range ss {
		for _, e := range s.Endpoints {
			total++
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ready++
			}
		}
	}
	return total, ready
}

func TestSlicesFollowPods(t *testing.T) {
	ctx, c := start(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
	svc, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A placeholder first.
	waitSlices(t, ctx, c, "web", "endpointslice-controller.k8s.io", func(ss []discovery.EndpointSlice) bool {
		return len(ss) == 1 && len(ss[0].Endpoints) == 0
	})

	const n = 130
	pods := make([]*corev1.Pod, n)
	for i := range n {
		pods[i] = runPod(t, ctx, c, fmt.Sprintf("p%d", i), fmt.Sprintf("10.244.%d.%d", i/200, i%200+1), true)
	}
	ss := waitSlices(t, ctx, c, "web", "endpointslice-controller.k8s.io", func(ss []discovery.EndpointSlice) bool {
		total, ready := count(ss)
		return total == n && ready == n
	})
	if len(ss) != 2 {
		t.Errorf("%d slices for %d endpoints, want 2", len(ss), n)
	}
	for _, s := range ss {
		if len(s.Endpoints) > 100 {
			t.Errorf("slice %s has %d endpoints", s.Name, len(s.Endpoints))
		}
		if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != svc.UID || s.OwnerReferences[0].Kind != "Service" {
			t.Errorf("ownerReferences = %+v", s.OwnerReferences)
		}
		if s.GenerateName != "web-" || s.AddressType != discovery.AddressTypeIPv4 {
			t.Errorf("slice %s: generateName %q addressType %q", s.Name, s.GenerateName, s.AddressType)
		}
		if len(s.Ports) != 1 || *s.Ports[0].Port != 8080 || *s.Ports[0].Name != "http" || *s.Ports[0].Protocol != corev1.ProtocolTCP {
			t.Errorf("ports = %+v", s.Ports)
		}
		e := s.Endpoints[0]
		if e.TargetRef == nil || e.TargetRef.Kind != "Pod" || e.NodeName == nil || *e.NodeName != "node-1" {
			t.Errorf("endpoint = %+v", e)
		}
	}

	// Readiness flips show in the conditions.
	setReady(t, ctx, c, pods[3], false)
	waitSlices(t, ctx, c, "web", "endpointslice-controller.k8s.io", func(ss []discovery.EndpointSlice) bool {
		total, ready := count(ss)
		return total == n && ready == n-1
	})

	// A terminating pod (no kubelet here finishes the deletion) stays,
	// terminating and not ready.
	if err := c.CoreV1().Pods("default").Delete(ctx, pods[40].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSlices(t, ctx, c, "web", "endpointslice-controller.k8s.io", func(ss []discovery.EndpointSlice) bool {
		for _, s := range ss {
			for _, e := range s.Endpoints {
				if e.TargetRef.Name == pods[40].Name {
					return *e.Conditions.Terminating && !*e.Conditions.Ready && *e.Conditions.Serving
				}
			}
		}
		return false
	})

	// Deleted pods leave.
	zero := int64(0)
	for i := range 40 {
		if err := c.CoreV1().Pods("default").Delete(ctx, pods[i].Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
	}
	waitSlices(t, ctx, c, "web", "endpointslice-controller.k8s.io", func(ss []discovery.EndpointSlice) bool {
		total, _ := count(ss)
		return total == n-40
	})

	// The slices go with the service.
	if err := c.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSlices(t, ctx, c, "web", "endpointslice-controller.k8s.io", func(ss []discovery.EndpointSlice) bool { return len(ss) == 0 })
}

func TestMirroring(t *testing.T) {
	ctx, c := start(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "pg", Port: 5432, Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Labels: map[string]string{"k": "v"}},
		Subsets: []corev1.EndpointSubset{{
			Addresses:         []corev1.EndpointAddress{{IP: "127.0.0.1"}},
			NotReadyAddresses: []corev1.EndpointAddress{{IP: "127.0.0.2"}},
			Ports:             []corev1.EndpointPort{{Name: "pg", Port: 5432}},
		}},
	}
	ep, err := c.CoreV1().Endpoints("default").Create(ctx, ep, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const mirror = "endpointslicemirroring-controller.k8s.io"
	ss := waitSlices(t, ctx, c, "db", mirror, func(ss []discovery.EndpointSlice) bool {
		total, ready := count(ss)
		return total == 2 && ready == 1
	})
	if ss[0].Labels["k"] != "v" || ss[0].OwnerReferences[0].Kind != "Endpoints" || *ss[0].Ports[0].Port != 5432 {
		t.Errorf("mirrored slice = %+v", ss[0])
	}
	ep.Subsets[0].Addresses = append(ep.Subsets[0].Addresses, corev1.EndpointAddress{IP: "127.0.0.3"})
	if _, err := c.CoreV1().Endpoints("default").Update(ctx, ep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSlices(t, ctx, c, "db", mirror, func(ss []discovery.EndpointSlice) bool {
		total, ready := count(ss)
		return total == 3 && ready == 2
	})
	if err := c.CoreV1().Endpoints("default").Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSlices(t, ctx, c, "db", mirror, func(ss []discovery.EndpointSlice) bool { return len(ss) == 0 })
}
