package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func lifecyclePods(bin string) string {
	pod := func(name, workload, probe string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %[1]s}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: lifecycle
    command: [%[2]q]
    env:
    - {name: %[3]s, value: %[4]s}
    - {name: PORT, value: "8080"}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
%[5]s`, name, bin, workloadEnv, workload, probe)
	}
	probe := `    readinessProbe:
      httpGet: {path: /ready, port: 8080}
      periodSeconds: 1
      failureThreshold: 1
`
	return pod("crash", "crash", "") + "---\n" + pod("toggle", "toggle", probe)
}

// TestPodLifecycle drives pod lifecycle with kubectl: a crashing container
// goes into CrashLoopBackOff with growing delays (the kubelet's 10 s, then
// 20 s), a killed process is restarted (restart count 1), a failing
// readiness probe takes a pod out of Ready.
func TestPodLifecycle(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	k.ok(t, lifecyclePods(self), "apply", "-f", "-")
	k.ok(t, "", "wait", "--for=condition=Ready", "pod/toggle", "--timeout=60s")

	// The crasher is followed in the background of the other checks.
	type run struct{ started, finished time.Time }
	crashDone := make(chan error, 1)
	var runs []run // runs[i] is the i-th run of the crasher
	var sawBackOff bool
	go func() {
		crashDone <- func() error {
			deadline := time.Now().Add(90 * time.Second)
			for time.Now().Before(deadline) {
				out, err := k.try(t, "get", "pod", "crash", "-o", "jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.startedAt} {.status.containerStatuses[0].lastState.terminated.finishedAt} {.status.containerStatuses[0].state.waiting.reason}")
				f := strings.Fields(out)
				if err == nil && len(f) >= 3 {
					n, _ := strconv.Atoi(f[0])
					st, err1 := time.Parse(time.RFC3339, f[1])
					fin, err2 := time.Parse(time.RFC3339, f[2])
					// With restart count n, lastState is run n-1.
					if err1 == nil && err2 == nil && n >= 1 && len(runs) == n-1 {
						runs = append(runs, run{st, fin})
					}
					if len(f) == 4 && f[3] == "CrashLoopBackOff" {
						sawBackOff = true
					}
					if len(runs) == 3 {
						return nil
					}
				}
				time.Sleep(200 * time.Millisecond)
			}
			return fmt.Errorf("crasher: runs seen %v", runs)
		}()
	}()

	// A killed container process is restarted: restart count 1, Ready
	// again.
	id := k.ok(t, "", "get", "pod", "toggle", "-o", "jsonpath={.status.containerStatuses[0].containerID}")
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(id), "skiff://"))
	if err != nil {
		t.Fatalf("container ID %q", id)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		out, err := k.try(t, "get", "pod", "toggle", "-o", "jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].ready}")
		if err != nil || out != "1 true" {
			return fmt.Errorf("restartCount, ready = %q (%v)", out, err)
		}
		return nil
	})
	if out := k.ok(t, "", "get", "pod", "toggle"); !strings.Contains(out, "1/1") || !strings.Contains(out, "Running") {
		t.Fatalf("after the kill:\n%s", out)
	}

	// A failing readiness probe takes the pod out of Ready; it keeps
	// running.
	ip := strings.TrimSpace(k.ok(t, "", "get", "pod", "toggle", "-o", "jsonpath={.status.podIP}"))
	resp, err := http.Post("http://"+net.JoinHostPort(ip, "8080")+"/unready", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	k.ok(t, "", "wait", "--for=condition=Ready=false", "pod/toggle", "--timeout=30s")
	if out := k.ok(t, "", "get", "pod", "toggle"); !strings.Contains(out, "0/1") || !strings.Contains(out, "Running") {
		t.Fatalf("after the probe failed:\n%s", out)
	}

	if err := <-crashDone; err != nil {
		t.Fatal(err)
	}
	if !sawBackOff {
		t.Error("kubectl never showed the crasher waiting in CrashLoopBackOff")
	}
	first := runs[1].started.Sub(runs[0].finished)
	second := runs[2].started.Sub(runs[1].finished)
	t.Logf("crasher restarted after %v, then after %v (test ran %v)", first, second, time.Since(start).Round(time.Second))
	// Timestamps have second precision: 10 s and 20 s, give or take one.
	if first < 9*time.Second || first > 13*time.Second || second < 19*time.Second || second > 23*time.Second {
		t.Fatalf("back-off delays %v then %v, want about 10 s then 20 s", first, second)
	}
	if out := k.ok(t, "", "get", "pod", "crash"); !strings.Contains(out, "CrashLoopBackOff") && !strings.Contains(out, "Error") {
		t.Fatalf("crasher:\n%s", out)
	}
}
