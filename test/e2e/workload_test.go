package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// workloadEnv makes the test binary a pod's container instead of a test
// run, so pods need nothing from the host but this binary.
const workloadEnv = "SKIFF_E2E_WORKLOAD"

// runWorkload runs the workload named w and returns the exit code.
func runWorkload(w string) int {
	switch w {
	case "http":
		// Answers "<version> <pod name>" on $POD_IP:$PORT until SIGTERM.
		addr := net.JoinHostPort(os.Getenv("POD_IP"), os.Getenv("PORT"))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			return 1
		}
		fmt.Println("serving on", addr)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s\n", os.Getenv("VERSION"), os.Getenv("POD_NAME"))
		})}
		go func() {
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, syscall.SIGTERM)
			<-ch
			fmt.Println("SIGTERM: shutting down")
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		}()
		_ = srv.Serve(ln)
		return 0
	case "keeper":
		// Keeps a file in its volume: reports what an earlier incarnation
		// left there, writes its own start, then sleeps until SIGTERM.
		dir := os.Getenv("SKIFF_VOLUME_DATA")
		path := dir + "/visits"
		old, _ := os.ReadFile(path)
		fmt.Printf("found %q\n", strings.TrimSpace(string(old)))
		line := os.Getenv("POD_NAME") + "@" + os.Getenv("POD_IP") + "\n"
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "open:", err)
			return 1
		}
		_, _ = f.WriteString(line)
		_ = f.Close()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		<-ch
		return 0
	case "crash":
		// Fails at once, every time.
		fmt.Println("crashing")
		return 1
	case "toggle":
		// Serves /ready with 200 until a POST to /unready, 500 after.
		addr := net.JoinHostPort(os.Getenv("POD_IP"), os.Getenv("PORT"))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			return 1
		}
		var unready atomic.Bool
		mux := http.NewServeMux()
		mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
			if unready.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		mux.HandleFunc("POST /unready", func(w http.ResponseWriter, r *http.Request) { unready.Store(true) })
		_ = http.Serve(ln, mux)
		return 1
	case "whoami":
		// Run by kubectl exec inside a pod: prints the pod's name, fails
		// with 3 so that the exit code's way back is tested too.
		fmt.Println("I am", os.Getenv("POD_NAME"))
		return 3
	}
	if code, ok := attachWorkload(w); ok {
		return code
	}
	fmt.Fprintln(os.Stderr, "unknown workload", w)
	return 2
}

func deploymentOf(bin, version string) string { return deploymentN(bin, version, 3) }

func deploymentN(bin, version string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  annotations: {kubernetes.io/change-cause: "version %[2]s"}
spec:
  replicas: %[4]d
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: hello
        image: hello:%[2]s
        command: [%[1]q]
        env:
        - {name: %[3]s, value: http}
        - {name: PORT, value: "8080"}
        - {name: VERSION, value: %[2]q}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 1
`, bin, version, workloadEnv, replicas)
}

// TestWorkloads runs a Deployment of real HTTP servers and drives it with
// kubectl: rollout, logs, service endpoints, DNS, replacement, undo,
// cascade delete (no process left).
func TestWorkloads(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	k.ok(t, deploymentOf(self, "v1"), "apply", "-f", "-")
	k.ok(t, "", "rollout", "status", "deployment/hello", "--timeout=60s")
	ips := podIPs(t, k)
	if len(ips) != 3 {
		t.Fatalf("pod IPs %v, want 3 distinct", ips)
	}
	for name, ip := range ips {
		body := get(t, "http://"+net.JoinHostPort(ip, "8080"))
		if body != "v1 "+name {
			t.Fatalf("pod %s at %s answered %q", name, ip, body)
		}
	}
	var one string
	for name := range ips {
		one = name
	}
	if logs := k.ok(t, "", "logs", one); !strings.Contains(logs, "serving on "+ips[one]+":8080") {
		t.Fatalf("logs of %s: %q", one, logs)
	}

	// exec runs in the pod's context; its exit code comes back.
	r := k.run(t, "", "exec", one, "--", self, "whoami")
	if !strings.Contains(r.stdout, "I am "+one) || r.err == nil || !strings.Contains(r.stderr, "exit code 3") {
		t.Fatalf("exec: err %v, stdout %q, stderr %q", r.err, r.stdout, r.stderr)
	}
	// port-forward reaches the pod's port from a local one.
	pf, pfOut := k.start(t, "port-forward", "pod/"+one, ":8080")
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
	if body := get(t, "http://127.0.0.1:"+local); body != "v1 "+one {
		t.Fatalf("through port-forward: %q", body)
	}
	_ = pf.Process.Kill()
	_ = pf.Wait()

	// A Service selects the pods: Endpoints follow them.
	k.ok(t, "", "expose", "deployment", "hello", "--port=80", "--target-port=http")
	eventually(t, 20*time.Second, func() error {
		eps, err := k.try(t, "get", "endpoints", "hello", "-o", "jsonpath={.subsets[*].addresses[*].ip}")
		if err != nil {
			return err
		}
		if len(strings.Fields(eps)) != 3 {
			return fmt.Errorf("endpoints %q", eps)
		}
		return nil
	})

	// Requests to the ClusterIP reach every pod.
	svcURL := "http://" + net.JoinHostPort(k.ok(t, "", "get", "service", "hello", "-o", "jsonpath={.spec.clusterIP}"), "80")
	eventually(t, 20*time.Second, func() error {
		seen := map[string]bool{}
		for range 60 {
			if f := strings.Fields(getNewConn(t, svcURL)); len(f) == 2 {
				seen[f[1]] = true
			}
		}
		for name := range ips {
			if !seen[name] {
				return fmt.Errorf("%s got no request through the service (saw %v)", name, seen)
			}
		}
		return nil
	})

	// A deleted pod is replaced by one with a new address.
	k.ok(t, "", "delete", "pod", one)
	eventually(t, 30*time.Second, func() error {
		now := podIPs(t, k)
		if len(now) != 3 {
			return fmt.Errorf("pods %v", now)
		}
		if _, still := now[one]; still {
			return fmt.Errorf("%s still listed", one)
		}
		for _, ip := range now {
			if ip == ips[one] {
				return fmt.Errorf("replacement reuses %s", ip)
			}
		}
		return nil
	})
	k.ok(t, "", "rollout", "status", "deployment/hello", "--timeout=60s")

	// Roll to v2, look at the history, undo to v1.
	k.ok(t, deploymentOf(self, "v2"), "apply", "-f", "-")
	k.ok(t, "", "rollout", "status", "deployment/hello", "--timeout=90s")
	for name, ip := range podIPs(t, k) {
		if body := get(t, "http://"+net.JoinHostPort(ip, "8080")); body != "v2 "+name {
			t.Fatalf("after rollout, %s answered %q", name, body)
		}
	}
	hist := k.ok(t, "", "rollout", "history", "deployment/hello")
	if !strings.Contains(hist, "version v1") || !strings.Contains(hist, "version v2") {
		t.Fatalf("history:\n%s", hist)
	}
	k.ok(t, "", "rollout", "undo", "deployment/hello")
	k.ok(t, "", "rollout", "status", "deployment/hello", "--timeout=90s")
	if img := k.ok(t, "", "get", "deployment", "hello", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "hello:v1" {
		t.Fatalf("after undo, image %q", img)
	}

	// Deleting the Deployment stops every process of its pods.
	pids := containerPIDs(t, k)
	k.ok(t, "", "delete", "deployment", "hello")
	eventually(t, 30*time.Second, func() error {
		if out := k.ok(t, "", "get", "pods", "-o", "name"); strings.TrimSpace(out) != "" {
			return fmt.Errorf("pods left: %s", out)
		}
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("process %d still running", pid)
			}
		}
		return nil
	})
}

// podIPs maps the running, not terminating pods of app=hello to their
// addresses.
func podIPs(t *testing.T, k *kubectl) map[string]string {
	out := k.ok(t, "", "get", "pods", "-l", "app=hello", "--field-selector=status.phase=Running",
		"-o", `jsonpath={range .items[*]}{.metadata.name}={.status.podIP}={.metadata.deletionTimestamp}{"\n"}{end}`)
	ips := map[string]string{}
	for _, l := range lines(out) {
		f := strings.Split(l, "=")
		if len(f) == 3 && f[1] != "" && f[2] == "" {
			ips[f[0]] = f[1]
		}
	}
	return ips
}

// containerPIDs reads the process IDs of the pods' containers from their
// container IDs (skiff://PID).
func containerPIDs(t *testing.T, k *kubectl) []int {
	out := k.ok(t, "", "get", "pods", "-l", "app=hello", "-o", "jsonpath={.items[*].status.containerStatuses[*].containerID}")
	var pids []int
	for _, id := range strings.Fields(out) {
		pid, err := strconv.Atoi(strings.TrimPrefix(id, "skiff://"))
		if err != nil {
			t.Fatalf("container ID %q", id)
		}
		pids = append(pids, pid)
	}
	if len(pids) == 0 {
		t.Fatal("no container IDs")
	}
	return pids
}

func get(t *testing.T, url string) string {
	t.Helper()
	return getWith(t, &http.Client{Timeout: 5 * time.Second}, url)
}

// getNewConn is get on a connection of its own (a kept-alive connection
// stays with the endpoint the proxy chose for it).
func getNewConn(t *testing.T, url string) string {
	t.Helper()
	return getWith(t, &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}, url)
}

func getWith(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}
