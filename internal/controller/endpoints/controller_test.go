package endpoints_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/internal/controller/endpoints"
	"github.com/skiff-dev/skiff/internal/testserver"
)

func testLogger() *slog.Logger {
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func start(t *testing.T) (context.Context, kubernetes.Interface) {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(srv.Client, 0)
	c, err := endpoints.New(srv.Client, f.Core().V1().Services(), f.Core().V1().Pods(), f.Core().V1().Endpoints(), testLogger(), endpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 2) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		f.Shutdown()
	})
	return ctx, srv.Client
}

// runPod creates a pod and gives it an IP and readiness, as a kubelet would.
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
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.Now()}}
	p, err := c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ips lists the ready and not-ready IPs of an Endpoints object.
func ips(ep *corev1.Endpoints) (readyIPs, notReady []string) {
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			readyIPs = append(readyIPs, a.IP)
		}
		for _, a := range s.NotReadyAddresses {
			notReady = append(notReady, a.IP)
		}
	}
	return readyIPs, notReady
}

// waitFor polls the Endpoints until ok accepts them.
func waitFor(t *testing.T, ctx context.Context, c kubernetes.Interface, name string, ok func(*corev1.Endpoints) bool) *corev1.Endpoints {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last *corev1.Endpoints
	for time.Now().Before(deadline) {
		ep, err := c.CoreV1().Endpoints("default").Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = ep
			if ok(ep) {
				return ep
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("endpoints %s never reached the wanted state; last: %+v", name, last)
	return nil
}

func TestEndpointsFollowPods(t *testing.T) {
	ctx, c := start(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
	if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// An empty Endpoints object appears for a service with no pods.
	waitFor(t, ctx, c, "web", func(ep *corev1.Endpoints) bool { return len(ep.Subsets) == 0 })

	a := runPod(t, ctx, c, "a", "10.244.0.1", true)
	b := runPod(t, ctx, c, "b", "10.244.0.2", false)
	ep := waitFor(t, ctx, c, "web", func(ep *corev1.Endpoints) bool {
		r, n := ips(ep)
		return slices.Equal(r, []string{"10.244.0.1"}) && slices.Equal(n, []string{"10.244.0.2"})
	})
	s := ep.Subsets[0]
	if len(s.Ports) != 1 || s.Ports[0].Port != 8080 || s.Ports[0].Name != "http" {
		t.Errorf("ports = %+v, want http/8080 resolved from the named target port", s.Ports)
	}
	if ref := s.Addresses[0].TargetRef; ref == nil || ref.Name != "a" || ref.UID != a.UID {
		t.Errorf("targetRef = %+v", ref)
	}
	if n := s.Addresses[0].NodeName; n == nil || *n != "node-1" {
		t.Errorf("nodeName = %v", n)
	}
	if ep.Labels["team"] != "a" {
		t.Errorf("labels = %v, want the service's", ep.Labels)
	}
	if _, ok := ep.Labels[corev1.IsHeadlessService]; ok {
		t.Errorf("headless label on a ClusterIP service")
	}
	if _, err := time.Parse(time.RFC3339Nano, ep.Annotations[corev1.EndpointsLastChangeTriggerTime]); err != nil {
		t.Errorf("trigger time annotation: %v", err)
	}

	// Readiness flips move addresses both ways.
	b = setReady(t, ctx, c, b, true)
	waitFor(t, ctx, c, "web", func(ep *corev1.Endpoints) bool {
		r, n := ips(ep)
		return len(r) == 2 && len(n) == 0
	})
	setReady(t, ctx, c, a, false)
	waitFor(t, ctx, c, "web", func(ep *corev1.Endpoints) bool {
		r, n := ips(ep)
		return slices.Equal(r, []string{"10.244.0.2"}) && slices.Equal(n, []string{"10.244.0.1"})
	})

	// A pod that leaves the selector leaves the endpoints.
	b, _ = c.CoreV1().Pods("default").Get(ctx, "b", metav1.GetOptions{})
	b.Labels = map[string]string{"app": "other"}
	if _, err := c.CoreV1().Pods("default").Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, c, "web", func(ep *corev1.Endpoints) bool {
		r, n := ips(ep)
		return len(r) == 0 && slices.Equal(n, []string{"10.244.0.1"})
	})

	// A deleted pod leaves too.
	if err := c.CoreV1().Pods("default").Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, c, "web", func(ep *corev1.Endpoints) bool { return len(ep.Subsets) == 0 })

	// The Endpoints go with the service.
	if err := c.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := c.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoints still there after the service was deleted (err %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHeadlessAndSelectorless(t *testing.T) {
	ctx, c := start(t)
	// A selector-less service: the user's Endpoints must survive.
	manual := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 5432, Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := c.CoreV1().Services("default").Create(ctx, manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	userEP := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Subsets:    []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}}, Ports: []corev1.EndpointPort{{Port: 5432}}}},
	}
	if _, err := c.CoreV1().Endpoints("default").Create(ctx, userEP, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	headless := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hl"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, ClusterIP: corev1.ClusterIPNone},
	}
	if _, err := c.CoreV1().Services("default").Create(ctx, headless, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		runPod(t, ctx, c, fmt.Sprintf("p%d", i), fmt.Sprintf("10.244.1.%d", i+1), true)
	}
	ep := waitFor(t, ctx, c, "hl", func(ep *corev1.Endpoints) bool { r, _ := ips(ep); return len(r) == 3 })
	if _, ok := ep.Labels[corev1.IsHeadlessService]; !ok {
		t.Errorf("labels = %v, want the headless label", ep.Labels)
	}
	if len(ep.Subsets[0].Ports) != 0 {
		t.Errorf("ports = %v, want none for a port-less headless service", ep.Subsets[0].Ports)
	}
	// By now the controller has seen the world; the user's object is as
	// written.
	got, err := c.CoreV1().Endpoints("default").Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := ips(got); !slices.Equal(r, []string{"127.0.0.1"}) || got.Annotations[corev1.EndpointsLastChangeTriggerTime] != "" {
		t.Errorf("user endpoints changed: %+v", got)
	}
}
