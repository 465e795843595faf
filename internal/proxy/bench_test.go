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
// connections and with a new connection per request:
//
//	go test -run '^$' -bench HTTP ./internal/proxy/
//
// Each mode runs fixed rounds that alternate between direct and proxied
// windows, so that load from other processes on a shared machine hits
// both paths alike; one iteration is the whole measurement. The figure of
// merit is proxy/direct (target ≥ 0.7 in userspace on 2 cores).
func BenchmarkHTTP(b *testing.B) {
	client, _ := runFake(b, testLogger())
	backend := httpBackend(b, randomIP(71).String()+":0", "ok")
	vip := randomIP(99)
	fakeService(b, client, "bench", vip, 80, backend)
	waitFor(b, "the proxy", func() bool { s, err := get(vip.String() + ":80"); return err == nil && s == "ok" })
	urls := [2]string{"http://" + backend.String() + "/", "http://" + vip.String() + ":80/"}

	for _, mode := range []struct {
		name      string
		keepAlive bool
	}{{"keepalive", true}, {"newconn", false}} {
		b.Run(mode.name, func(b *testing.B) {
			const rounds, window = 8, 250 * time.Millisecond
			var res [2]loadResult
			for b.Loop() {
				res = [2]loadResult{}
				for range rounds {
					for i, u := range urls {
						res[i].add(load(b, u, mode.keepAlive, window))
					}
				}
			}
			direct, proxied := res[0].rate(), res[1].rate()
			b.ReportMetric(direct, "direct-req/s")
			b.ReportMetric(proxied, "proxy-req/s")
			b.ReportMetric(proxied/direct, "ratio")
			b.ReportMetric(res[0].p99(), "direct-p99-µs")
			b.ReportMetric(res[1].p99(), "proxy-p99-µs")
		})
	}
}

type loadResult struct {
	elapsed time.Duration
	lat     []time.Duration
}

func (r *loadResult) add(o loadResult) {
	r.elapsed += o.elapsed
	r.lat = append(r.lat, o.lat...)
}

func (r *loadResult) rate() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

func (r *loadResult) p99() float64 {
	if len(r.lat) == 0 {
		return 0
	}
	slices.Sort(r.lat)
	return float64(r.lat[len(r.lat)*99/100].Microseconds())
}

// load sends GETs to url from 16 goroutines (closed loop) for d.
func load(b *testing.B, url string, keepAlive bool, d time.Duration) loadResult {
	const workers = 16
	tr := &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var out loadResult
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			mine := make([]time.Duration, 0, 4096)
			for t0 := time.Now(); t0.Before(end); t0 = time.Now() {
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
			out.lat = append(out.lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	return out
}
