package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAgentJoins starts a second node with `skiff agent` and checks that
// it registers Ready, runs its share of a Deployment's pods, and that the
// real kubectl reaches a pod there (logs, exec, port-forward) through the
// API server, which proxies to the agent's HTTPS endpoint.
func TestAgentJoins(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	url := strings.TrimSpace(k.ok(t, "", "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"))
	cmd := exec.Command(binary, "agent", "--server", url, "--token", "@"+filepath.Join(s.dataDir, "token"),
		"--ca-file", filepath.Join(s.dataDir, "pki", "ca.crt"), "--node-name", "joined",
		"--data-dir", t.TempDir(), "--stop-pods-on-exit", "--log-level", "warn",
		// Loopback only, on a free port: the Node publishes the one bound.
		"--listen-address", "127.0.0.1:0")
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

	// The joined node publishes where the API server reaches its agent.
	endpoint := k.ok(t, "", "get", "node", "joined", "-o",
		`jsonpath={.status.addresses[?(@.type=="InternalIP")].address} {.status.daemonEndpoints.kubeletEndpoint.Port} {.metadata.annotations.skiff\.dev/serving-cert-sha256}`)
	if f := strings.Fields(endpoint); len(f) != 3 || f[0] != "127.0.0.1" || f[1] == "0" || len(f[2]) != 64 {
		t.Fatalf("joined node endpoint %q, want 127.0.0.1, a port and a sha256", endpoint)
	}
	// logs, exec and port-forward of a pod there go through the API
	// server to the joined agent.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	k.ok(t, joinedPod(self), "apply", "-f", "-")
	k.ok(t, "", "wait", "--for=condition=Ready", "pod/remote", "--timeout=60s")
	if node := k.ok(t, "", "get", "pod", "remote", "-o", "jsonpath={.spec.nodeName}"); node != "joined" {
		t.Fatalf("pod remote runs on %q, want joined", node)
	}
	ip := k.ok(t, "", "get", "pod", "remote", "-o", "jsonpath={.status.podIP}")
	for _, k := range kubectls(t, s) {
		reachJoinedPod(t, k, self, ip)
	}
}

// reachJoinedPod runs kubectl logs, exec and port-forward against the pod
// "remote" of the joined node.
func reachJoinedPod(t *testing.T, k *kubectl, self, ip string) {
	t.Helper()
	if logs := k.ok(t, "", "logs", "remote"); !strings.Contains(logs, "serving on "+ip+":8080") {
		t.Fatalf("%s kubectl logs of remote: %q", k.name, logs)
	}
	r := k.run(t, "", "exec", "remote", "--", self, "whoami")
	if !strings.Contains(r.stdout, "I am remote") || r.err == nil || !strings.Contains(r.stderr, "exit code 3") {
		t.Fatalf("%s kubectl exec in remote: err %v, stdout %q, stderr %q", k.name, r.err, r.stdout, r.stderr)
	}
	pf, pfOut := k.start(t, "port-forward", "pod/remote", ":8080")
	defer func() {
		_ = pf.Process.Kill()
		_ = pf.Wait()
	}()
	var local string
	eventually(t, 10*time.Second, func() error {
		for _, l := range lines(pfOut.String()) {
			if rest, ok := strings.CutPrefix(l, "Forwarding from 127.0.0.1:"); ok {
				local = strings.Fields(rest)[0]
				return nil
			}
		}
		return fmt.Errorf("port-forward output %q", pfOut.String())
	})
	if body := get(t, "http://127.0.0.1:"+local); body != "v1 remote" {
		t.Fatalf("%s kubectl port-forward to the joined node: %q", k.name, body)
	}
	t.Logf("%s kubectl: logs, exec and port-forward reach the joined node's pod", k.name)
}

// joinedPod is an HTTP server pod (see runWorkload) for the node "joined".
func joinedPod(bin string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: remote}
spec:
  nodeSelector: {kubernetes.io/hostname: joined}
  terminationGracePeriodSeconds: 2
  containers:
  - name: web
    image: web
    command: [%[1]q]
    env:
    - {name: %[2]s, value: http}
    - {name: PORT, value: "8080"}
    - {name: VERSION, value: v1}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    ports: [{containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /, port: 8080}
      periodSeconds: 1
`, bin, workloadEnv)
}
