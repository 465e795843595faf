package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRolloutDropsNoRequest hammers a Service's ClusterIP in a closed loop
// while a 5-replica Deployment rolls to a new version: not one request may
// fail (the agent keeps a deleted pod running until it has left the
// endpoints every proxy uses). Bounded: it stops when the rollout is done
// or after 90 s.
func TestRolloutDropsNoRequest(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	k.ok(t, deploymentN(self, "v1", 5), "apply", "-f", "-")
	k.ok(t, "", "expose", "deployment", "hello", "--port=80", "--target-port=http")
	k.ok(t, "", "rollout", "status", "deployment/hello", "--timeout=60s")
	ip := k.ok(t, "", "get", "service", "hello", "-o", "jsonpath={.spec.clusterIP}")
	url := "http://" + net.JoinHostPort(ip, "80") + "/"
	// Every request on a new connection: each one goes through the proxy's
	// choice of a ready endpoint.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	eventually(t, 20*time.Second, func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})

	var sent, failed atomic.Int64
	var firstErr atomic.Value
	versions := sync.Map{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := client.Get(url)
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				var body [64]byte
				n, _ := resp.Body.Read(body[:])
				resp.Body.Close()
				versions.Store(strings.Fields(string(body[:n]))[0], true)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	k.ok(t, deploymentN(self, "v2", 5), "apply", "-f", "-")
	r := k.run(t, "", "rollout", "status", "deployment/hello", "--timeout=90s")
	time.Sleep(time.Second) // traffic after the last old pod is gone
	close(stop)
	wg.Wait()
	if r.err != nil {
		t.Fatalf("rollout: %v %s", r.err, r.stderr)
	}
	_, sawV2 := versions.Load("v2")
	t.Logf("%d requests sent during the rollout, %d failed", sent.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed; first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	if !sawV2 || sent.Load() < 100 {
		t.Fatalf("traffic did not follow the rollout: v2 seen %v, %d requests", sawV2, sent.Load())
	}
}
