package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestRestartKeepsData kills the server (SIGKILL, then SIGTERM) and starts
// it again on the same data dir: everything acknowledged is still there and
// resourceVersions keep increasing.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	k := kubectls(t, s)[0]
	const n = 20
	for i := 0; i < n; i++ {
		k.ok(t, "", "create", "cm", fmt.Sprintf("cm-%d", i), "--from-literal=i="+strconv.Itoa(i))
	}
	lastRV := rvOf(t, k, "cm-19")
	s.stop(syscall.SIGKILL)

	for round, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		s = startServer(t, dir)
		k = kubectls(t, s)[0]
		out := k.ok(t, "", "get", "cm", "-o", "name")
		for i := 0; i < n; i++ {
			if !strings.Contains(out, fmt.Sprintf("configmap/cm-%d\n", i)) {
				t.Fatalf("round %d: cm-%d lost after restart:\n%s", round, i, out)
			}
		}
		if got := k.ok(t, "", "get", "cm", "cm-7", "-o", "jsonpath={.data.i}"); got != "7" {
			t.Fatalf("round %d: cm-7 data = %q", round, got)
		}
		name := fmt.Sprintf("after-%d", round)
		k.ok(t, "", "create", "cm", name)
		rv := rvOf(t, k, name)
		if rv <= lastRV {
			t.Fatalf("round %d: resourceVersion went back: %d after %d", round, rv, lastRV)
		}
		lastRV = rv
		s.stop(sig)
	}
}

func rvOf(t *testing.T, k *kubectl, name string) int64 {
	t.Helper()
	out := k.ok(t, "", "get", "cm", name, "-o", "jsonpath={.metadata.resourceVersion}")
	rv, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", out, err)
	}
	return rv
}
