package e2e

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRolloutDeadline: a Deployment whose pods never become ready reports
// ProgressDeadlineExceeded, and `kubectl rollout status` fails on it.
func TestRolloutDeadline(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	stuck := strings.Replace(deploymentN(self, "v1", 2), "spec:\n  replicas:", "spec:\n  progressDeadlineSeconds: 3\n  replicas:", 1)
	// The readiness probe asks a port nothing listens on.
	stuck = strings.Replace(stuck, "httpGet: {path: /, port: http}", "tcpSocket: {port: 9}", 1)
	k.ok(t, stuck, "apply", "-f", "-")
	r := k.run(t, "", "rollout", "status", "deployment/hello", "--timeout=60s")
	if r.err == nil || !strings.Contains(r.stderr, `deployment "hello" exceeded its progress deadline`) {
		t.Fatalf("rollout status: err %v, stdout %q, stderr %q", r.err, r.stdout, r.stderr)
	}
	cond := k.ok(t, "", "get", "deployment", "hello", "-o", `jsonpath={.status.conditions[?(@.type=="Progressing")].reason}`)
	if cond != "ProgressDeadlineExceeded" {
		t.Fatalf("Progressing reason %q", cond)
	}
}

// TestScaleMovesTraffic: scaling a Deployment behind a Service changes its
// endpoints and the pods that answer through the ClusterIP.
func TestScaleMovesTraffic(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	k.ok(t, deploymentN(self, "v1", 1), "apply", "-f", "-")
	k.ok(t, "", "expose", "deployment", "hello", "--port=80", "--target-port=http")
	url := "http://" + net.JoinHostPort(k.ok(t, "", "get", "service", "hello", "-o", "jsonpath={.spec.clusterIP}"), "80")
	answering := func(want int) {
		t.Helper()
		eventually(t, 30*time.Second, func() error {
			out, err := k.try(t, "get", "endpoints", "hello", "-o", "jsonpath={.subsets[*].addresses[*].ip}")
			if err != nil {
				return err
			}
			eps := strings.Fields(out)
			if len(eps) != want {
				return fmt.Errorf("%d endpoints, want %d", len(eps), want)
			}
			seen := map[string]bool{}
			for range 20 * want {
				if f := strings.Fields(getNewConn(t, url)); len(f) == 2 {
					seen[f[1]] = true
				}
			}
			if len(seen) != want {
				return fmt.Errorf("%d pods answered, want %d: %v", len(seen), want, seen)
			}
			return nil
		})
	}
	answering(1)
	k.ok(t, "", "scale", "deployment", "hello", "--replicas=3")
	answering(3)
	k.ok(t, "", "scale", "deployment", "hello", "--replicas=2")
	answering(2)
}
