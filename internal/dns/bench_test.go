package dns_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff-dev/skiff/internal/dns"
)

// BenchmarkServiceA measures service A lookups over UDP on loopback
// against a server whose informers hold 1000 services; it reports
// queries/s and the p99 latency.
func BenchmarkServiceA(b *testing.B) {
	var objs []runtime.Object
	for i := range 1000 {
		objs = append(objs, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i), Namespace: "default"},
			Spec:       corev1.ServiceSpec{ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1), ClusterIPs: []string{fmt.Sprintf("10.96.%d.%d", i/250, i%250+1)}},
		})
	}
	client := fake.NewClientset(objs...)
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(client, 0)
	s, err := dns.New(dns.Config{ListenAddr: "127.0.0.1:0", Upstreams: []string{}}, f, nil)
	if err != nil {
		b.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Ready()
	b.Cleanup(func() {
		cancel()
		<-done
		f.Shutdown()
	})
	addr := s.Addr()

	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(4) // 4×GOMAXPROCS clients, each with its own socket
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := mdns.Dial("udp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		var local []time.Duration
		i := 0
		for pb.Next() {
			m := new(mdns.Msg)
			m.SetQuestion(fmt.Sprintf("svc-%d.default.svc.cluster.local.", i%1000), mdns.TypeA)
			i++
			t0 := time.Now()
			_ = conn.SetDeadline(t0.Add(2 * time.Second))
			if err := conn.WriteMsg(m); err != nil {
				b.Error(err)
				return
			}
			r, err := conn.ReadMsg()
			if err != nil || len(r.Answer) != 1 {
				b.Errorf("query: %v %v", err, r)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "queries/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
