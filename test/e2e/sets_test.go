package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const statefulSetYAML = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 80, name: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: c
        image: sleeper:%s
        command: ["sleep", "600"]
`

// TestStatefulSet starts a StatefulSet with kubectl and checks the order
// pods became ready in, their stable names, a partitioned update and undo.
func TestStatefulSet(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	// Watch pods from before the set exists: the order of "1/1 Running"
	// lines is the order pods became ready.
	watch, out := k.start(t, "get", "pods", "-l", "app=db", "-w", "--no-headers")
	defer func() { _ = watch.Process.Kill(); _ = watch.Wait() }()
	k.ok(t, fmt.Sprintf(statefulSetYAML, "v1"), "apply", "-f", "-")
	k.ok(t, "", "rollout", "status", "statefulset/db", "--timeout=60s")
	eventually(t, 10*time.Second, func() error {
		var order []string
		seen := map[string]bool{}
		for _, l := range lines(out.String()) {
			f := strings.Fields(l)
			if len(f) >= 3 && f[1] == "1/1" && f[2] == "Running" && !seen[f[0]] {
				seen[f[0]] = true
				order = append(order, f[0])
			}
		}
		if strings.Join(order, ",") != "db-0,db-1,db-2" {
			return fmt.Errorf("ready order %v:\n%s", order, out.String())
		}
		return nil
	})
	// No pod was created before its predecessor was ready: the first line
	// naming db-N comes after the line where db-(N-1) became ready.
	first := map[string]int{}
	ready := map[string]int{}
	for i, l := range lines(out.String()) {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		if _, ok := first[f[0]]; !ok {
			first[f[0]] = i
		}
		if _, ok := ready[f[0]]; !ok && f[1] == "1/1" {
			ready[f[0]] = i
		}
	}
	if first["db-1"] < ready["db-0"] || first["db-2"] < ready["db-1"] {
		t.Fatalf("a pod appeared before its predecessor was ready:\n%s", out.String())
	}
	if h := k.ok(t, "", "get", "pod", "db-1", "-o", "jsonpath={.spec.hostname}.{.spec.subdomain}"); h != "db-1.db" {
		t.Fatalf("db-1 hostname.subdomain = %q", h)
	}

	// Partition 2: only db-2 moves to v2.
	k.ok(t, "", "patch", "statefulset", "db", "-p", `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}`)
	k.ok(t, fmt.Sprintf(statefulSetYAML, "v2"), "apply", "-f", "-")
	eventually(t, 60*time.Second, func() error {
		imgs := k.ok(t, "", "get", "pods", "-l", "app=db", "-o", `jsonpath={range .items[*]}{.metadata.name}={.spec.containers[0].image} {end}`)
		if strings.TrimSpace(imgs) != "db-0=sleeper:v1 db-1=sleeper:v1 db-2=sleeper:v2" {
			return fmt.Errorf("images %q", imgs)
		}
		return nil
	})
	hist := k.ok(t, "", "rollout", "history", "statefulset/db")
	if !strings.Contains(hist, "1 ") || !strings.Contains(hist, "2 ") {
		t.Fatalf("history:\n%s", hist)
	}
	k.ok(t, "", "rollout", "undo", "statefulset/db")
	eventually(t, 60*time.Second, func() error {
		// db-2 is deleted and created again on the way: absent for a while.
		r := k.run(t, "", "get", "pod", "db-2", "-o", "jsonpath={.spec.containers[0].image}")
		if r.err != nil || r.stdout != "sleeper:v1" {
			return fmt.Errorf("db-2 image %q after undo (%v %s)", r.stdout, r.err, r.stderr)
		}
		return nil
	})
	k.ok(t, "", "delete", "statefulset", "db")
}

const daemonSetYAML = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: c
        image: sleeper:%s
        command: ["sleep", "600"]
`

// TestDaemonSet runs a DaemonSet over two nodes (the server's and a
// joined agent) and rolls it forward and back.
func TestDaemonSet(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	url := strings.TrimSpace(k.ok(t, "", "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"))
	agent := exec.Command(binary, "agent", "--server", url, "--token", "@"+filepath.Join(s.dataDir, "token"),
		"--ca-file", filepath.Join(s.dataDir, "pki", "ca.crt"), "--node-name", "second",
		"--data-dir", t.TempDir(), "--stop-pods-on-exit", "--log-level", "warn")
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Signal(syscall.SIGTERM); _ = agent.Wait() })
	eventually(t, 20*time.Second, func() error {
		if n := len(lines(k.ok(t, "", "get", "nodes", "--no-headers"))); n != 2 {
			return fmt.Errorf("%d nodes", n)
		}
		return nil
	})
	k.ok(t, fmt.Sprintf(daemonSetYAML, "v1"), "apply", "-f", "-")
	k.ok(t, "", "rollout", "status", "daemonset/node-agent", "--timeout=60s")
	perNode := func() map[string]string {
		out := k.ok(t, "", "get", "pods", "-l", "app=node-agent", "-o", `jsonpath={range .items[*]}{.spec.nodeName}={.spec.containers[0].image}={.metadata.deletionTimestamp} {end}`)
		m := map[string]string{}
		for _, f := range strings.Fields(out) {
			p := strings.Split(f, "=")
			if len(p) == 3 && p[2] == "" {
				if _, dup := m[p[0]]; dup {
					m[p[0]] = "DUPLICATE"
					continue
				}
				m[p[0]] = p[1]
			}
		}
		return m
	}
	if m := perNode(); len(m) != 2 || m["second"] != "sleeper:v1" {
		t.Fatalf("pods per node: %v", m)
	}
	k.ok(t, fmt.Sprintf(daemonSetYAML, "v2"), "apply", "-f", "-")
	k.ok(t, "", "rollout", "status", "daemonset/node-agent", "--timeout=60s")
	eventually(t, 30*time.Second, func() error {
		if m := perNode(); len(m) != 2 || m["second"] != "sleeper:v2" || m[nodeOtherThan(m, "second")] != "sleeper:v2" {
			return fmt.Errorf("after update: %v", m)
		}
		return nil
	})
	k.ok(t, "", "rollout", "undo", "daemonset/node-agent")
	eventually(t, 60*time.Second, func() error {
		if m := perNode(); len(m) != 2 || m["second"] != "sleeper:v1" || m[nodeOtherThan(m, "second")] != "sleeper:v1" {
			return fmt.Errorf("after undo: %v", m)
		}
		return nil
	})
	k.ok(t, "", "delete", "daemonset", "node-agent")
}

func nodeOtherThan(m map[string]string, name string) string {
	for n := range m {
		if n != name {
			return n
		}
	}
	return ""
}
