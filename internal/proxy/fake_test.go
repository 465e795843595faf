package proxy

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

func testLogger() *slog.Logger {
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// runFake runs a proxier over a fake clientset (no API server), for
// white-box tests and benchmarks. It stops on cleanup and checks that Run
// returned.
func runFake(tb testing.TB, logger *slog.Logger) (kubernetes.Interface, *Proxier) {
	tb.Helper()
	client, p, _ := runFakeConfig(tb, Config{NodeName: "n1"}, logger)
	return client, p
}

// runFakeConfig is runFake with a Config; stop ends Run early (and
// reports whether it returned in time).
func runFakeConfig(tb testing.TB, cfg Config, logger *slog.Logger) (client kubernetes.Interface, p *Proxier, stop func() bool) {
	tb.Helper()
	client = fake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	p, err := New(cfg, f, logger)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	returned := make(chan struct{})
	stop = func() bool {
		cancel()
		select {
		case <-returned:
			return true
		case <-time.After(10 * time.Second):
			return false
		}
	}
	go func() {
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
		close(returned)
	}()
	tb.Cleanup(func() {
		if !stop() {
			tb.Errorf("Run did not return")
		}
		f.Shutdown()
	})
	return client, p, stop
}

// randomIP is a loopback address in 127.<first>.x.y, random so that
// concurrent test runs on one machine do not meet.
func randomIP(first byte) netip.Addr {
	return netip.AddrFrom4([4]byte{127, first, byte(rand.IntN(250) + 1), byte(rand.IntN(250) + 1)})
}

// httpBackend serves its name on addr until cleanup.
func httpBackend(tb testing.TB, addr, name string) netip.AddrPort {
	tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(name))
	})}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// fakeService creates a ClusterIP service and a slice with the given
// ready endpoints (all on one port).
func fakeService(tb testing.TB, c kubernetes.Interface, name string, vip netip.Addr, port uint16, eps ...netip.AddrPort) {
	tb.Helper()
	ctx := context.Background()
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: vip.String(), ClusterIPs: []string{vip.String()},
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: int32(port)}}},
	}
	if _, err := c.CoreV1().Services("default").Create(ctx, s, metav1.CreateOptions{}); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, fakeSlice(name, eps...), metav1.CreateOptions{}); err != nil {
		tb.Fatal(err)
	}
}

func fakeSlice(service string, eps ...netip.AddrPort) *discovery.EndpointSlice {
	s := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: service + "-1", Labels: map[string]string{discovery.LabelServiceName: service}},
		AddressType: discovery.AddressTypeIPv4,
	}
	if len(eps) > 0 && eps[0].Addr().Is6() {
		s.AddressType = discovery.AddressTypeIPv6
	}
	for i, e := range eps {
		if i == 0 {
			s.Ports = []discovery.EndpointPort{sport("http", corev1.ProtocolTCP, int32(e.Port()))}
		}
		s.Endpoints = append(s.Endpoints, discovery.Endpoint{Addresses: []string{e.Addr().String()},
			Conditions: discovery.EndpointConditions{Ready: ptr(true)}})
	}
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get does one request on a new connection and returns the body.
func get(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufioReader(c), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b := make([]byte, 64)
	n, _ := resp.Body.Read(b)
	return string(b[:n]), nil
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
