package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/internal/proxy"
	"github.com/skiff-dev/skiff/internal/testserver"
)

// These tests run the real API server with the EndpointSlice controllers,
// pods whose status the test sets (as a node agent would), servers the
// test runs on the pods' loopback addresses, and a Proxier.

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
}

func start(t *testing.T) *env {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{"endpointslice", "endpointslicemirroring"}})
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(srv.Client, 0)
	p, err := proxy.New(proxy.Config{NodeIPs: []string{"127.0.0.1"}, NodeName: "test-node"}, f, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return")
		}
		f.Shutdown()
	})
	return &env{t: t, ctx: ctx, client: srv.Client}
}

// podIP is a random pod address in 127.70.0.0/16 (the test's pods), so
// that runs on one machine do not meet.
func podIP() string {
	return netip.AddrFrom4([4]byte{127, 70, byte(rand.IntN(250) + 1), byte(rand.IntN(250) + 1)}).String()
}

// pod creates a pod labelled app=app with a Running status at ip.
func (e *env) pod(name, app, ip string, ready bool) *corev1.Pod {
	e.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: "test-node", Containers: []corev1.Container{{Name: "c", Image: "x",
			Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8080}, {Name: "echo", ContainerPort: 5353, Protocol: corev1.ProtocolUDP}}}}},
	}
	p, err := e.client.CoreV1().Pods("default").Create(e.ctx, p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	return e.setReady(p, ready)
}

func (e *env) setReady(p *corev1.Pod, ready bool) *corev1.Pod {
	e.t.Helper()
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.Now()}}
	p, err := e.client.CoreV1().Pods("default").UpdateStatus(e.ctx, p, metav1.UpdateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// service creates a service and returns it as allocated.
func (e *env) service(s *corev1.Service) *corev1.Service {
	e.t.Helper()
	s, err := e.client.CoreV1().Services("default").Create(e.ctx, s, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func webService(name, app string, mod func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("web")}}},
	}
	if mod != nil {
		mod(s)
	}
	return s
}

// httpServer answers its name on addr until cleanup.
func httpServer(t *testing.T, addr, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// udpEcho answers "name:payload" on addr until cleanup.
func udpEcho(t *testing.T, addr, name string) {
	t.Helper()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			c.WriteTo([]byte(name+":"+string(buf[:n])), from)
		}
	}()
}

// get sends one request on a new connection (from local, if set).
func get(addr string, local *net.TCPAddr) (string, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	if local != nil {
		d.LocalAddr = local
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	k := &keepAlive{c: c, r: bufio.NewReader(c)}
	return k.get()
}

type keepAlive struct {
	c net.Conn
	r *bufio.Reader
}

func (k *keepAlive) get() (string, error) {
	k.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(k.c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(k.r, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// readyEndpoints waits until the service's slices list n ready endpoints.
func (e *env) readyEndpoints(service string, n int) {
	e.t.Helper()
	eventually(e.t, fmt.Sprintf("%d ready endpoints of %s", n, service), func() bool {
		l, err := e.client.DiscoveryV1().EndpointSlices("default").List(e.ctx, metav1.ListOptions{LabelSelector: discovery.LabelServiceName + "=" + service})
		if err != nil {
			return false
		}
		ready := 0
		for _, s := range l.Items {
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
					ready++
				}
			}
		}
		return ready == n
	})
}

// eventually polls cond until it holds (15s deadline).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func vip(s *corev1.Service, port int32) string {
	return net.JoinHostPort(s.Spec.ClusterIP, strconv.Itoa(int(port)))
}

func TestProxy(t *testing.T) {
	e := start(t)

	t.Run("all backends, readiness loss, drain", func(t *testing.T) {
		e.t = t
		pods := map[string]*corev1.Pod{}
		for _, n := range []string{"a", "b", "c"} {
			ip := podIP()
			httpServer(t, ip+":8080", n)
			pods[n] = e.pod("web1-"+n, "web1", ip, true)
		}
		s := e.service(webService("web1", "web1", nil))
		addr := vip(s, 80)
		seen := map[string]bool{}
		eventually(t, "all three backends through "+addr, func() bool {
			if b, err := get(addr, nil); err == nil {
				seen[b] = true
			}
			return len(seen) == 3
		})

		// A keep-alive connection held on c.
		var held *keepAlive
		eventually(t, "a connection to c", func() bool {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return false
			}
			k := &keepAlive{c: c, r: bufio.NewReader(c)}
			if b, err := k.get(); err == nil && b == "c" {
				held = k
				return true
			}
			c.Close()
			return false
		})
		defer held.c.Close()

		e.setReady(pods["c"], false)
		streak := 0
		eventually(t, "c out of rotation", func() bool {
			if b, err := get(addr, nil); err == nil && b != "c" {
				streak++
			} else {
				streak = 0
			}
			return streak >= 6
		})
		for range 30 {
			if b, err := get(addr, nil); err != nil || b == "c" {
				t.Fatalf("after c lost readiness: %q, %v", b, err)
			}
		}
		if b, err := held.get(); err != nil || b != "c" {
			t.Fatalf("the connection held on c did not drain: %q, %v", b, err)
		}
	})

	t.Run("no ready endpoint refuses at once", func(t *testing.T) {
		e.t = t
		ip := podIP()
		httpServer(t, ip+":8080", "only")
		p := e.pod("web2", "web2", ip, true)
		s := e.service(webService("web2", "web2", nil))
		addr := vip(s, 80)
		eventually(t, "the service to answer", func() bool { b, err := get(addr, nil); return err == nil && b == "only" })
		e.setReady(p, false)
		eventually(t, "the service to refuse", func() bool { _, err := get(addr, nil); return err != nil })
		for range 10 {
			t0 := time.Now()
			_, err := get(addr, nil)
			if err == nil {
				t.Fatal("a service without ready endpoints answered")
			}
			if d := time.Since(t0); d > time.Second {
				t.Fatalf("refusal took %v (%v)", d, err)
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("refusal by timeout: %v", err)
			}
		}
		// A service whose selector matches nothing refuses as well.
		s = e.service(webService("web2-empty", "nothing", nil))
		for range 5 {
			t0 := time.Now()
			if _, err := get(vip(s, 80), nil); err == nil || time.Since(t0) > time.Second {
				t.Fatalf("empty service: %v after %v", err, time.Since(t0))
			}
		}
	})

	t.Run("session affinity ClientIP", func(t *testing.T) {
		e.t = t
		for _, n := range []string{"a", "b", "c"} {
			ip := podIP()
			httpServer(t, ip+":8080", n)
			e.pod("web3-"+n, "web3", ip, true)
		}
		s := e.service(webService("web3", "web3", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		}))
		if c := s.Spec.SessionAffinityConfig; c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil || *c.ClientIP.TimeoutSeconds != 10800 {
			t.Fatalf("affinity config not defaulted: %+v", s.Spec.SessionAffinityConfig)
		}
		addr := vip(s, 80)
		e.readyEndpoints("web3", 3)
		eventually(t, "the service to answer", func() bool { _, err := get(addr, nil); return err == nil })
		seen := map[string]bool{}
		third := byte(rand.IntN(200) + 20)
		for i := range 6 {
			src := &net.TCPAddr{IP: net.IPv4(127, 0, third, byte(10+i))}
			first, err := get(addr, src)
			if err != nil {
				t.Fatal(err)
			}
			seen[first] = true
			for range 5 {
				if b, err := get(addr, src); err != nil || b != first {
					t.Fatalf("client %v went to %q (%v) after %q", src.IP, b, err, first)
				}
			}
		}
		if len(seen) < 2 {
			t.Fatalf("six client IPs all went to %v", seen)
		}
	})

	t.Run("UDP", func(t *testing.T) {
		e.t = t
		pods := map[string]*corev1.Pod{}
		for _, n := range []string{"a", "b"} {
			ip := podIP()
			udpEcho(t, ip+":5353", n)
			pods[n] = e.pod("dns-"+n, "dns", ip, true)
		}
		s := e.service(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "dns"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "dns"},
				Ports: []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("echo")}}},
		})
		svcAddr := netip.MustParseAddrPort(vip(s, 53))
		ask := func(c *net.UDPConn, payload string) (string, netip.AddrPort, error) {
			if _, err := c.WriteToUDPAddrPort([]byte(payload), svcAddr); err != nil {
				return "", netip.AddrPort{}, err
			}
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			buf := make([]byte, 2048)
			n, from, err := c.ReadFromUDPAddrPort(buf)
			return string(buf[:n]), from, err
		}
		seen := map[string]bool{}
		eventually(t, "both UDP backends", func() bool {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			reply, from, err := ask(c, "hi")
			if err != nil {
				return false
			}
			if from.Addr().Unmap() != svcAddr.Addr() || from.Port() != svcAddr.Port() {
				t.Fatalf("reply from %v, want the service address %v", from, svcAddr)
			}
			name, payload, _ := strings.Cut(reply, ":")
			if payload != "hi" {
				t.Fatalf("reply %q", reply)
			}
			// One client address stays with its endpoint.
			for i := range 3 {
				r, _, err := ask(c, fmt.Sprint(i))
				if err != nil || r != name+":"+fmt.Sprint(i) {
					t.Fatalf("association moved: %q, %v (first %q)", r, err, name)
				}
			}
			seen[name] = true
			return len(seen) == 2
		})

		// A client associated with a moves to b once a is not ready.
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { c.Close() }()
		eventually(t, "an association with a", func() bool {
			c.Close()
			c, _ = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			r, _, err := ask(c, "x")
			return err == nil && r == "a:x"
		})
		e.setReady(pods["a"], false)
		eventually(t, "the association to move to b", func() bool { r, _, err := ask(c, "y"); return err == nil && r == "b:y" })
	})

	t.Run("NodePort", func(t *testing.T) {
		e.t = t
		ip := podIP()
		httpServer(t, ip+":8080", "np")
		e.pod("web4", "web4", ip, true)
		s := e.service(webService("web4", "web4", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }))
		np := s.Spec.Ports[0].NodePort
		if np == 0 {
			t.Fatal("no node port allocated")
		}
		eventually(t, "the node port", func() bool {
			b, err := get(net.JoinHostPort("127.0.0.1", strconv.Itoa(int(np))), nil)
			return err == nil && b == "np"
		})
		eventually(t, "the cluster IP", func() bool { b, err := get(vip(s, 80), nil); return err == nil && b == "np" })
	})

	t.Run("selector-less with Endpoints", func(t *testing.T) {
		e.t = t
		backend := httpServer(t, "127.0.0.1:0", "outside")
		_, port, _ := net.SplitHostPort(backend)
		pn, _ := strconv.Atoi(port)
		s := e.service(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "ext"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(int32(pn))}}},
		})
		_, err := e.client.CoreV1().Endpoints("default").Create(e.ctx, &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Name: "ext"},
			Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}},
				Ports: []corev1.EndpointPort{{Name: "http", Port: int32(pn)}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the hand-made endpoint", func() bool { b, err := get(vip(s, 80), nil); return err == nil && b == "outside" })
	})

	t.Run("selector-less with an EndpointSlice", func(t *testing.T) {
		e.t = t
		backend := httpServer(t, "127.0.0.1:0", "sliced")
		_, port, _ := net.SplitHostPort(backend)
		pn, _ := strconv.Atoi(port)
		s := e.service(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "ext2"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8081}}},
		})
		name, proto, p32 := "http", corev1.ProtocolTCP, int32(pn)
		_, err := e.client.DiscoveryV1().EndpointSlices("default").Create(e.ctx, &discovery.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: "ext2-manual", Labels: map[string]string{
				discovery.LabelServiceName: "ext2", discovery.LabelManagedBy: "test"}},
			AddressType: discovery.AddressTypeIPv4,
			Endpoints:   []discovery.Endpoint{{Addresses: []string{"127.0.0.1"}}},
			Ports:       []discovery.EndpointPort{{Name: &name, Protocol: &proto, Port: &p32}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the hand-made slice", func() bool { b, err := get(vip(s, 8081), nil); return err == nil && b == "sliced" })
	})
}
