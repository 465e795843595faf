package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAgentJoins starts a second node with `skiff agent` and checks that
// it registers Ready and runs its share of a Deployment's pods.
func TestAgentJoins(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	url := strings.TrimSpace(k.ok(t, "", "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"))
	cmd := exec.Command(binary, "agent", "--server", url, "--token", "@"+filepath.Join(s.dataDir, "token"),
		"--ca-file", filepath.Join(s.dataDir, "pki", "ca.crt"), "--node-name", "joined",
		"--data-dir", t.TempDir(), "--stop-pods-on-exit", "--log-level", "warn")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	eventually(t, 20*time.Second, func() error {
		out, err := k.try(t, "get", "node", "joined", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil || out != "True" {
			return fmt.Errorf("joined node Ready=%q; agent log:\n%s", out, log.String())
		}
		return nil
	})
	k.ok(t, "", "create", "deployment", "spread", "--image=sleeper", "--replicas=4", "--", "sleep", "300")
	eventually(t, 30*time.Second, func() error {
		out := k.ok(t, "", "get", "pods", "-l", "app=spread", "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].spec.nodeName}")
		nodes := map[string]int{}
		for _, n := range strings.Fields(out) {
			nodes[n]++
		}
		if len(strings.Fields(out)) != 4 || nodes["joined"] == 0 || len(nodes) != 2 {
			return fmt.Errorf("running pods per node: %v", nodes)
		}
		return nil
	})
	k.ok(t, "", "delete", "deployment", "spread")
}
