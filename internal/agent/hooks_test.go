package agent_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/internal/agent"
)

func TestPreStopRunsBeforeSIGTERM(t *testing.T) {
	e := setup(t, nil)
	file := filepath.Join(t.TempDir(), "order")
	p := workloadPod(t, "prestop", "record-term", corev1.EnvVar{Name: "TERM_FILE", Value: file})
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
		PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{exe(t), "--append", file, "prestop"}}},
	}
	e.create(t, p)
	got := e.waitPod(t, "prestop", "Ready", isReady)
	e.waitLog(t, "prestop", "main", "waiting for SIGTERM")
	pid := pidOf(t, got.Status.ContainerStatuses[0])
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "prestop", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, "prestop")
	waitProcessGone(t, pid)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "prestop\nsigterm\n" {
		t.Errorf("order file = %q, want the preStop hook before SIGTERM", b)
	}
}

func TestFailingPreStopStillStops(t *testing.T) {
	e := setup(t, nil)
	file := filepath.Join(t.TempDir(), "order")
	p := workloadPod(t, "prestop-fail", "record-term", corev1.EnvVar{Name: "TERM_FILE", Value: file})
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
		PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{exe(t), "--fail"}}},
	}
	e.create(t, p)
	e.waitPod(t, "prestop-fail", "Ready", isReady)
	e.waitLog(t, "prestop-fail", "main", "waiting for SIGTERM")
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "prestop-fail", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitEvent(t, "prestop-fail", "FailedPreStopHook", "failing on purpose")
	e.waitGone(t, "prestop-fail")
	if b, _ := os.ReadFile(file); string(b) != "sigterm\n" {
		t.Errorf("order file = %q, want SIGTERM after the failed hook", b)
	}
}

func TestPostStartRuns(t *testing.T) {
	e := setup(t, nil)
	file := filepath.Join(t.TempDir(), "poststart")
	p := workloadPod(t, "poststart", "sleep")
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
		PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{exe(t), "--append", file, "poststart"}}},
	}
	e.create(t, p)
	got := e.waitPod(t, "poststart", "Ready", isReady)
	if b, err := os.ReadFile(file); err != nil || string(b) != "poststart\n" {
		t.Fatalf("postStart file = %q, %v", b, err)
	}
	if s := got.Status.ContainerStatuses[0]; s.State.Running == nil || s.Started == nil || !*s.Started || s.RestartCount != 0 {
		t.Errorf("status = %+v", s)
	}
}

func TestFailingPostStartRestarts(t *testing.T) {
	e := setup(t, nil)
	p := workloadPod(t, "poststart-fail", "sleep")
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
		PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{exe(t), "--fail"}}},
	}
	e.create(t, p)
	e.waitEvent(t, "poststart-fail", "FailedPostStartHook", "failing on purpose")
	got := e.waitPod(t, "poststart-fail", "a restart", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	if s := got.Status.ContainerStatuses[0]; s.Ready || (s.Started != nil && *s.Started) {
		t.Errorf("container with a failing postStart is ready or started: %+v", s)
	}
}

// worldExecutable copies the test binary where any user may run it.
func worldExecutable(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "skiff-agent-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(exe(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(dir, "workload")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunAsUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	e := setup(t, nil)
	p := workloadPod(t, "nobody", "sleep")
	p.Spec.Containers[0].Command = []string{worldExecutable(t)}
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsGroup: ptr.To(int64(65533)), SupplementalGroups: []int64{4242}}
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: ptr.To(int64(65534))}
	e.create(t, p)
	got := e.waitPod(t, "nobody", "Ready", isReady)
	pid := pidOf(t, got.Status.ContainerStatuses[0])
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Uid:": "65534 65534 65534 65534", "Gid:": "65533 65533 65533 65533", "Groups:": "4242"}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if w, ok := want[f[0]]; ok {
			if got := strings.Join(f[1:], " "); got != w {
				t.Errorf("%s %s, want %s", f[0], got, w)
			}
			delete(want, f[0])
		}
	}
	if len(want) > 0 {
		t.Errorf("missing in /proc/%d/status: %v", pid, want)
	}
}

func TestRunAsNonRootRefusesRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	e := setup(t, nil)
	p := workloadPod(t, "nonroot", "sleep")
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}
	e.create(t, p)
	deadline := time.Now().Add(20 * time.Second)
	e.waitPod(t, "nonroot", "CreateContainerConfigError", func(p *corev1.Pod) bool {
		return time.Now().Before(deadline) && len(p.Status.ContainerStatuses) == 1 &&
			p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "CreateContainerConfigError"
	})
}

func TestPreStopHTTPGetToPodIP(t *testing.T) {
	e := setup(t, nil)
	p := workloadPod(t, "prestop-http", "http-server", corev1.EnvVar{Name: "PORT", Value: "8080"})
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
		PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/prestop", Port: intstr.FromInt32(8080)}},
	}
	e.create(t, p)
	e.waitPod(t, "prestop-http", "Ready", isReady)
	e.waitLog(t, "prestop-http", "main", "listening on")
	dir := e.podDir(p.Namespace, "prestop-http")
	// The log goes with the pod: a hard link keeps the file readable after
	// the agent removes the pod's directory.
	kept := filepath.Join(t.TempDir(), "main.log")
	if err := os.Link(filepath.Join(dir, "main", "0.log"), kept); err != nil {
		t.Fatal(err)
	}
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "prestop-http", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(kept)
		if strings.Contains(string(b), "request /prestop") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the preStop httpGet never reached the pod")
}

// podDir finds the agent's directory of a pod by name.
func (e *env) podDir(ns, name string) string {
	m, _ := filepath.Glob(filepath.Join(e.dir, "pods", ns+"_"+name+"_*"))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// With PrivateMounts the mount shim changes user after mounting; hooks
// run through it too.
func TestRunAsUserWithPrivateMounts(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	e := setup(t, func(c *agent.Config) { c.PrivateMounts = true })
	bin := worldExecutable(t)
	at := filepath.Join(filepath.Dir(bin), "data")
	p := workloadPod(t, "nobody-mounts", "sleep")
	p.Spec.Containers[0].Command = []string{bin}
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To(int64(65534))}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: at}}
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
		PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{bin, "--append", at + "/hook", "poststart"}}},
	}
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	got := e.create(t, p)
	running := e.waitPod(t, "nobody-mounts", "Ready", isReady)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pidOf(t, running.Status.ContainerStatuses[0])))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nUid:\t65534\t65534\t65534\t65534\n") {
		t.Errorf("not running as 65534:\n%s", b)
	}
	hook := filepath.Join(e.volumeDir(got, "data"), "hook")
	fi, err := os.Stat(hook)
	if err != nil {
		t.Fatalf("postStart hook file: %v", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != 65534 {
		t.Errorf("hook file owner = %+v, want uid 65534", fi.Sys())
	}
}

func TestLivenessKillRunsPreStop(t *testing.T) {
	e := setup(t, nil)
	file := filepath.Join(t.TempDir(), "order")
	p := workloadPod(t, "live-prestop", "record-term", corev1.EnvVar{Name: "TERM_FILE", Value: file})
	// The initial delay gives the workload time to catch SIGTERM: a
	// probe failing in its first milliseconds would kill it before.
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9)}},
		InitialDelaySeconds: 1, PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1,
	}
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
		PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{exe(t), "--append", file, "prestop"}}},
	}
	e.create(t, p)
	e.waitPod(t, "live-prestop", "restarted by liveness", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	b, err := os.ReadFile(file)
	if err != nil || !strings.HasPrefix(string(b), "prestop\nsigterm\n") {
		t.Errorf("order file = %q, %v; want the preStop hook before SIGTERM", b, err)
	}
}
