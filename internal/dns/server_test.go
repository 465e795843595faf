package dns_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/internal/controller/endpointslice"
	"github.com/skiff-dev/skiff/internal/dns"
	"github.com/skiff-dev/skiff/internal/testserver"
)

func testLogger() *slog.Logger {
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// fakeUpstream runs a resolver on 127.0.0.1 (UDP and TCP) that knows
// example.org. and nothing else.
func fakeUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, req *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		if strings.EqualFold(q.Name, "example.org.") && q.Qtype == mdns.TypeA {
			m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.1")})
		} else {
			m.Rcode = mdns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	for _, srv := range []*mdns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

// startDNS runs a DNS server (and the EndpointSlice controller feeding
// it) against the API server.
func startDNS(t *testing.T, client kubernetes.Interface, upstreams []string) *dns.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(client, 0)
	ctrl, err := endpointslice.New(client, f.Core().V1().Services(), f.Core().V1().Pods(), f.Discovery().V1().EndpointSlices(), testLogger(), endpointslice.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := dns.New(dns.Config{ListenAddr: "127.0.0.1:0", Upstreams: upstreams}, f, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan error, 2)
	go func() { done <- ctrl.Run(ctx, 2) }()
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
		f.Shutdown()
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("stopped before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("dns server not ready")
	}
	return s
}

func query(t *testing.T, addr, network, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	c := &mdns.Client{Net: network, Timeout: 5 * time.Second}
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", mdns.TypeToString[qtype], name, network, err)
	}
	return r
}

// answers renders the answer section as "TYPE data", sorted.
func answers(m *mdns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		h := rr.Header()
		out = append(out, mdns.TypeToString[h.Rrtype]+" "+strings.TrimPrefix(rr.String(), h.String()))
	}
	slices.Sort(out)
	return out
}

// eventually polls a query until want matches its answers.
func eventually(t *testing.T, addr, name string, qtype uint16, want ...string) *mdns.Msg {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := query(t, addr, "udp", name, qtype)
		if slices.Equal(answers(r), want) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: answers %q (rcode %s), want %q", mdns.TypeToString[qtype], name, answers(r), mdns.RcodeToString[r.Rcode], want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runPod(t *testing.T, ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, ip string) {
	t.Helper()
	pod.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox", Ports: []corev1.ContainerPort{{Name: "pg", ContainerPort: 6432}}}}
	p, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = ip
	p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestServerAgainstAPI(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	ctx, c := context.Background(), srv.Client
	up := fakeUpstream(t)
	s := startDNS(t, c, []string{up})
	addr := s.Addr()

	web, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := web.Spec.ClusterIP
	eventually(t, addr, "web.default.svc.cluster.local.", mdns.TypeA, "A "+ip)
	r := query(t, addr, "tcp", "web.default.svc.cluster.local.", mdns.TypeA)
	if !slices.Equal(answers(r), []string{"A " + ip}) {
		t.Errorf("over TCP: %q", answers(r))
	}
	eventually(t, addr, "_http._tcp.web.default.svc.cluster.local.", mdns.TypeSRV, "SRV 0 100 80 web.default.svc.cluster.local.")
	parts := strings.Split(ip, ".")
	slices.Reverse(parts)
	eventually(t, addr, strings.Join(parts, ".")+".in-addr.arpa.", mdns.TypePTR, "PTR web.default.svc.cluster.local.")
	if r := query(t, addr, "udp", "web.default.svc.cluster.local.", mdns.TypeAAAA); r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Errorf("AAAA: rcode %s, %d answers, authority %v; want NODATA with the SOA", mdns.RcodeToString[r.Rcode], len(r.Answer), r.Ns)
	}
	if r := query(t, addr, "udp", "nope.default.svc.cluster.local.", mdns.TypeA); r.Rcode != mdns.RcodeNameError {
		t.Errorf("missing service: rcode %s, want NXDOMAIN", mdns.RcodeToString[r.Rcode])
	}

	// A headless service of StatefulSet-like pods.
	if _, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "db"},
			Ports: []corev1.ServicePort{{Name: "pg", Port: 5432, TargetPort: intstr.FromString("pg"), Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runPod(t, ctx, c, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0", Labels: map[string]string{"app": "db"}}, Spec: corev1.PodSpec{Hostname: "db-0", Subdomain: "db"}}, "10.244.0.2")
	runPod(t, ctx, c, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-1", Labels: map[string]string{"app": "db"}}, Spec: corev1.PodSpec{Hostname: "db-1", Subdomain: "db"}}, "10.244.0.3")
	eventually(t, addr, "db.default.svc.cluster.local.", mdns.TypeA, "A 10.244.0.2", "A 10.244.0.3")
	eventually(t, addr, "db-1.db.default.svc.cluster.local.", mdns.TypeA, "A 10.244.0.3")
	eventually(t, addr, "_pg._tcp.db.default.svc.cluster.local.", mdns.TypeSRV,
		"SRV 0 50 6432 db-0.db.default.svc.cluster.local.", "SRV 0 50 6432 db-1.db.default.svc.cluster.local.")
	eventually(t, addr, "2.0.244.10.in-addr.arpa.", mdns.TypePTR, "PTR db-0.db.default.svc.cluster.local.")
	eventually(t, addr, "10-244-0-2.default.pod.cluster.local.", mdns.TypeA, "A 10.244.0.2")

	// ExternalName.
	if _, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.org"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, addr, "ext.default.svc.cluster.local.", mdns.TypeA, "CNAME example.org.")

	// Names outside the zone go to the upstream.
	eventually(t, addr, "example.org.", mdns.TypeA, "A 192.0.2.1")
	if r := query(t, addr, "tcp", "example.org.", mdns.TypeA); len(r.Answer) != 1 {
		t.Errorf("forwarded over TCP: %v", r)
	}
	if r := query(t, addr, "udp", "missing.example.org.", mdns.TypeA); r.Rcode != mdns.RcodeNameError {
		t.Errorf("forwarded NXDOMAIN: rcode %s", mdns.RcodeToString[r.Rcode])
	}
}

func TestTruncationAndNoUpstream(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	ctx, c := context.Background(), srv.Client
	s := startDNS(t, c, []string{})
	addr := s.Addr()

	// A selector-less headless service with a hand-made slice of 80
	// endpoints: too many A records for 512 bytes.
	if _, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "big"},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "big-manual", Labels: map[string]string{discovery.LabelServiceName: "big"}},
		AddressType: discovery.AddressTypeIPv4,
	}
	for i := range 80 {
		slice.Endpoints = append(slice.Endpoints, discovery.Endpoint{Addresses: []string{fmt.Sprintf("10.244.3.%d", i+1)}})
	}
	if _, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := query(t, addr, "tcp", "big.default.svc.cluster.local.", mdns.TypeA)
		if len(r.Answer) == 80 && !r.Truncated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("over TCP: %d answers, want all 80", len(r.Answer))
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := query(t, addr, "udp", "big.default.svc.cluster.local.", mdns.TypeA)
	if !r.Truncated || len(r.Answer) >= 80 {
		t.Errorf("over UDP: truncated=%v with %d answers, want TC set and fewer answers", r.Truncated, len(r.Answer))
	}
	if r.Compress = true; r.Len() > 512 {
		t.Errorf("UDP reply of %d bytes exceeds 512", r.Len())
	}

	// No upstream: SERVFAIL for names outside the zone.
	if r := query(t, addr, "udp", "example.org.", mdns.TypeA); r.Rcode != mdns.RcodeServerFailure {
		t.Errorf("no upstream: rcode %s, want SERVFAIL", mdns.RcodeToString[r.Rcode])
	}
}
