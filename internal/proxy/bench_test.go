package proxy

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkHTTP compares requests/s and p99 latency of an HTTP server
// reached directly and through the proxy's ClusterIP, with keep-alive
// connections and with a new connection per request, in one run:
//
//	go test -run '^$' -bench HTTP ./internal/proxy/
//
// The ratio proxied/direct of req/s is the figure of merit
// (target ≥ 0.7 in userspace on 2 cores).
func BenchmarkHTTP(b *testing.B) {
	client, _ := runFake(b, testLogger())
	backend := httpBackend(b, randomIP(71).String()+":0", "ok")
	vip := randomIP(99)
	fakeService(b, client, "bench", vip, 80, backend)
	proxied := "http://" + vip.String() + ":80/"
	direct := "http://" + backend.String() + "/"
	waitFor(b, "the proxy", func() bool { s, err := get(vip.String() + ":80"); return err == nil && s == "ok" })

	for _, mode := range []struct {
		name      string
		keepAlive bool
	}{{"keepalive", true}, {"newconn", false}} {
		for _, path := range []struct{ name, url string }{{"direct", direct}, {"proxy", proxied}} {
			b.Run(mode.name+"/"+path.name, func(b *testing.B) {
				benchGets(b, path.url, mode.keepAlive)
			})
		}
	}
}

// benchGets sends GETs from 8 goroutines per CPU and reports req/s and
// the p99 latency.
func benchGets(b *testing.B, url string, keepAlive bool) {
	const perCPU = 8
	tr := &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(perCPU)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		mine := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op")
}
