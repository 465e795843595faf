package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/internal/agent"
	"github.com/skiff-dev/skiff/internal/agent/runtime"
	"github.com/skiff-dev/skiff/internal/agent/volume"
	"github.com/skiff-dev/skiff/internal/testserver"
)

const testNode = "node-a"

type runningAgent struct {
	a    *agent.Agent
	stop func()
}

// startTestAgent runs an agent over dir until the test ends (or stop).
func startTestAgent(t *testing.T, client kubernetes.Interface, dir string, mod func(*agent.Config)) *runningAgent {
	t.Helper()
	cfg := agent.Config{NodeName: testNode, DataDir: dir, BackoffBase: time.Second, BackoffMax: 4 * time.Second, HeartbeatInterval: time.Second}
	if mod != nil {
		mod(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := agent.New(cfg, client, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("agent did not stop")
		}
	}
	t.Cleanup(stop)
	return &runningAgent{a: a, stop: stop}
}

// killLeftovers kills every process group the agents under dir started,
// so that no test leaves a process behind.
func killLeftovers(t *testing.T, dir string) {
	t.Cleanup(func() {
		// Memory-backed emptyDirs are tmpfs mounts when tests run as root.
		if err := volume.UnmountAll(dir); err != nil {
			t.Errorf("unmount volumes: %v", err)
		}
		for _, p := range agent.RecordedProcesses(dir) {
			if pid := int(p[0]); runtime.Alive(pid, p[1]) {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
}

type env struct {
	srv    *testserver.Server
	client kubernetes.Interface
	dir    string
	agent  *runningAgent
}

func setup(t *testing.T, mod func(*agent.Config)) *env {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	killLeftovers(t, dir)
	e := &env{srv: srv, client: srv.Client, dir: dir}
	e.agent = startTestAgent(t, srv.Client, dir, mod)
	return e
}

func exe(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func workloadPod(t *testing.T, name, workload string, extra ...corev1.EnvVar) *corev1.Pod {
	envs := append([]corev1.EnvVar{
		{Name: "SKIFF_TEST_WORKLOAD", Value: workload},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
	}, extra...)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeName:                      testNode,
			TerminationGracePeriodSeconds: ptr.To(int64(5)),
			Containers: []corev1.Container{{
				Name: "main", Image: "skiff-test", Command: []string{exe(t)}, Env: envs,
			}},
		},
	}
}

func (e *env) create(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	p, err := e.client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	return p
}

// waitPod polls the pod until ok says so.
func (e *env) waitPod(t *testing.T, name string, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last *corev1.Pod
	for time.Now().Before(deadline) {
		p, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if ok(p) {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := json.MarshalIndent(last, "", "  ")
	t.Fatalf("pod %s: timed out waiting for %s; last:\n%s", name, what, b)
	return nil
}

func (e *env) waitGone(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pod %s was not removed", name)
}

// deletePod deletes the pod and waits until it is gone.
func (e *env) deletePod(t *testing.T, name string) {
	t.Helper()
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, name)
}

// waitNoPath waits until path no longer exists; what names it in the
// failure.
func waitNoPath(t *testing.T, path, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s still exists after the pod was deleted", what, path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func pidOf(t *testing.T, s corev1.ContainerStatus) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimPrefix(s.ContainerID, "skiff://"))
	if err != nil {
		t.Fatalf("container id %q: %v", s.ContainerID, err)
	}
	return pid
}

func processGone(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil {
		return true
	}
	// A zombie not yet reaped by its parent counts as gone.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && (s[i+2] == 'Z' || s[i+2] == 'X')
}

func waitProcessGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if processGone(pid) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d still runs", pid)
}

// getLog fetches a pod's log through the agent's handler.
func (e *env) getLog(t *testing.T, name, query string) (int, string) {
	t.Helper()
	h := httptest.NewServer(e.agent.a.PodSubresources())
	defer h.Close()
	resp, err := http.Get(h.URL + "/api/v1/namespaces/default/pods/" + name + "/log?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNodeRegistration(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	var node *corev1.Node
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, testNode, metav1.GetOptions{})
		if err == nil && len(n.Status.Conditions) > 0 {
			node = n
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if node == nil {
		t.Fatal("node not registered")
	}
	if node.Status.Capacity.Cpu().Value() < 1 || node.Status.Capacity.Memory().Value() <= 0 || node.Status.Capacity.Pods().Value() != 110 {
		t.Errorf("capacity = %v", node.Status.Capacity)
	}
	if node.Status.NodeInfo.KubeletVersion != agent.KubeletVersion || node.Status.NodeInfo.ContainerRuntimeVersion != agent.RuntimeVersion || node.Status.NodeInfo.KernelVersion == "" {
		t.Errorf("nodeInfo = %+v", node.Status.NodeInfo)
	}
	var ready bool
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if !ready {
		t.Errorf("node not Ready: %+v", node.Status.Conditions)
	}
	if len(node.Status.Addresses) < 2 || node.Status.Addresses[0].Address != "127.0.0.1" {
		t.Errorf("addresses = %+v", node.Status.Addresses)
	}
	prefix, err := netip.ParsePrefix(node.Spec.PodCIDR)
	if err != nil || prefix.Bits() != 24 || !netip.MustParsePrefix("127.0.0.0/8").Contains(prefix.Addr()) || prefix.Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("podCIDR = %q", node.Spec.PodCIDR)
	}
	// The lease is renewed.
	var first time.Time
	deadline = time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		l, err := e.client.CoordinationV1().Leases("kube-node-lease").Get(ctx, testNode, metav1.GetOptions{})
		if err == nil && l.Spec.RenewTime != nil {
			if first.IsZero() {
				first = l.Spec.RenewTime.Time
			} else if l.Spec.RenewTime.After(first) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("lease not renewed")
}

func TestPodServesOnItsIPAndIsDeleted(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	pods := []string{"web-1", "web-2"}
	ips := map[string]bool{}
	for _, name := range pods {
		p := workloadPod(t, name, "http-server", corev1.EnvVar{Name: "PORT", Value: "8080"})
		p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
			PeriodSeconds: 1,
		}
		e.create(t, p)
	}
	for _, name := range pods {
		p := e.waitPod(t, name, "Ready", isReady)
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || ips[p.Status.PodIP] {
			t.Fatalf("phase %s, ip %q (seen %v)", p.Status.Phase, p.Status.PodIP, ips)
		}
		ips[p.Status.PodIP] = true
		if len(p.Status.PodIPs) != 1 || p.Status.HostIP != "127.0.0.1" || p.Status.StartTime == nil {
			t.Errorf("status = %+v", p.Status)
		}
		for _, c := range []corev1.PodConditionType{corev1.PodInitialized, corev1.ContainersReady, corev1.PodReadyToStartContainers} {
			if cond := condition(p, c); cond == nil || cond.Status != corev1.ConditionTrue {
				t.Errorf("condition %s = %+v", c, cond)
			}
		}
		cs := p.Status.ContainerStatuses[0]
		if cs.State.Running == nil || !cs.Ready || cs.Started == nil || !*cs.Started || !strings.HasPrefix(cs.ContainerID, "skiff://") {
			t.Errorf("container status = %+v", cs)
		}
		resp, err := http.Get("http://" + p.Status.PodIP + ":8080/")
		if err != nil {
			t.Fatalf("GET pod %s: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := "hello from " + name; !strings.Contains(string(body), want) {
			t.Errorf("body = %q, want %q", body, want)
		}
	}

	// Logs: the whole log, the tail, with timestamps; errors.
	code, out := e.getLog(t, "web-1", "")
	if code != 200 || !strings.Contains(out, "listening on") || !strings.Contains(out, "request /") {
		t.Errorf("log = %d %q", code, out)
	}
	code, out = e.getLog(t, "web-1", "tailLines=1")
	if code != 200 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "request") {
		t.Errorf("tail log = %d %q", code, out)
	}
	code, out = e.getLog(t, "web-1", "timestamps=true&limitBytes=10")
	if code != 200 || len(out) != 10 || !strings.HasPrefix(out, "20") {
		t.Errorf("timestamped log = %d %q", code, out)
	}
	code, out = e.getLog(t, "web-1", "sinceTime="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if code != 200 || out != "" {
		t.Errorf("since log = %d %q", code, out)
	}
	if code, out := e.getLog(t, "nope", ""); code != 404 || !strings.Contains(out, `"reason":"NotFound"`) {
		t.Errorf("log of missing pod = %d %s", code, out)
	}
	if code, out := e.getLog(t, "web-1", "previous=true"); code != 400 || !strings.Contains(out, "previous terminated container") {
		t.Errorf("previous log = %d %s", code, out)
	}

	// Deleting the pod stops its process group and removes it.
	p, _ := e.client.CoreV1().Pods("default").Get(ctx, "web-1", metav1.GetOptions{})
	pid := pidOf(t, p.Status.ContainerStatuses[0])
	if err := e.client.CoreV1().Pods("default").Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, "web-1")
	waitProcessGone(t, pid)
	if _, err := os.Stat(filepath.Join(e.dir, "podip", p.Status.PodIP)); !os.IsNotExist(err) {
		t.Errorf("address %s not released: %v", p.Status.PodIP, err)
	}
}

func TestEnvAndExpansion(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	_, err := e.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data:       map[string]string{"greeting": "hello", "color": "blue", "bad-name": "x"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		Data:       map[string][]byte{"token": []byte("s3cret")},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := workloadPod(t, "echo", "echo",
		corev1.EnvVar{Name: "ECHO_VARS", Value: "POD_IP,GREETING,COMBINED,LABEL,NS,CM_color,TOKEN,MEM,MISSING_OPT,HOST_IP"},
		corev1.EnvVar{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "greeting"}}},
		corev1.EnvVar{Name: "COMBINED", Value: "$(GREETING)@$(POD_IP)"},
		corev1.EnvVar{Name: "LABEL", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
		corev1.EnvVar{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		corev1.EnvVar{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
		corev1.EnvVar{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "token"}}},
		corev1.EnvVar{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resourceMi()}}},
		corev1.EnvVar{Name: "MISSING_OPT", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "nope", Optional: ptr.To(true)}}},
	)
	c := &p.Spec.Containers[0]
	c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
	c.Args = []string{"$(GREETING)-$(POD_IP)", "$$(GREETING)", "$(UNKNOWN)"}
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resourceMi()}
	c.Resources.Limits[corev1.ResourceMemory] = mustQuantity("64Mi")
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	e.create(t, p)
	got := e.waitPod(t, "echo", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	ip := got.Status.PodIP
	if ip == "" {
		t.Fatal("no pod IP on a succeeded pod")
	}
	_, out := e.getLog(t, "echo", "")
	for _, want := range []string{
		"arg hello-" + ip, "arg $(GREETING)", "arg $(UNKNOWN)",
		"env POD_IP=" + ip, "env GREETING=hello", "env COMBINED=hello@" + ip, "env LABEL=echo",
		"env NS=default", "env CM_color=blue", "env TOKEN=s3cret", "env MEM=64", "env MISSING_OPT=\n", "env HOST_IP=127.0.0.1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	cs := got.Status.ContainerStatuses[0]
	if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 || cs.State.Terminated.Reason != "Completed" {
		t.Errorf("state = %+v", cs.State)
	}
	if r := condition(got, corev1.PodReady); r == nil || r.Status != corev1.ConditionFalse || r.Reason != "PodCompleted" {
		t.Errorf("Ready = %+v", r)
	}
}

func TestRestartPolicyNeverExitCodes(t *testing.T) {
	e := setup(t, nil)
	p := workloadPod(t, "mixed", "exit", corev1.EnvVar{Name: "EXIT_CODE", Value: "0"})
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	second := p.Spec.Containers[0].DeepCopy()
	second.Name = "failing"
	second.Env = append(second.Env, corev1.EnvVar{Name: "EXIT_CODE", Value: "7"})
	p.Spec.Containers = append(p.Spec.Containers, *second)
	e.create(t, p)
	got := e.waitPod(t, "mixed", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	codes := map[string]int32{}
	for _, s := range got.Status.ContainerStatuses {
		if s.State.Terminated == nil {
			t.Fatalf("container %s not terminated: %+v", s.Name, s.State)
		}
		codes[s.Name] = s.State.Terminated.ExitCode
		if s.RestartCount != 0 {
			t.Errorf("container %s restarted", s.Name)
		}
	}
	if codes["main"] != 0 || codes["failing"] != 7 {
		t.Errorf("exit codes = %v", codes)
	}
	if code, out := e.getLog(t, "mixed", ""); code != 400 || !strings.Contains(out, "a container name must be specified for pod mixed, choose one of: [main failing]") {
		t.Errorf("log without container = %d %s", code, out)
	}
	if code, out := e.getLog(t, "mixed", "container=failing"); code != 200 || !strings.Contains(out, "exiting with 7") || !strings.Contains(out, "to stderr") {
		t.Errorf("log = %d %q", code, out)
	}
}

func TestCrashLoopBackOff(t *testing.T) {
	e := setup(t, nil)
	p := workloadPod(t, "crash", "exit", corev1.EnvVar{Name: "EXIT_CODE", Value: "3"})
	e.create(t, p)
	got := e.waitPod(t, "crash", "CrashLoopBackOff after restarts", func(p *corev1.Pod) bool {
		if len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		s := p.Status.ContainerStatuses[0]
		return s.RestartCount >= 2 && s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff"
	})
	s := got.Status.ContainerStatuses[0]
	if s.LastTerminationState.Terminated == nil || s.LastTerminationState.Terminated.ExitCode != 3 || s.LastTerminationState.Terminated.Reason != "Error" {
		t.Errorf("lastState = %+v", s.LastTerminationState)
	}
	if got.Status.Phase != corev1.PodRunning || isReady(got) {
		t.Errorf("phase %s ready %v", got.Status.Phase, isReady(got))
	}
	if code, out := e.getLog(t, "crash", "previous=true"); code != 200 || !strings.Contains(out, "exiting with 3") {
		t.Errorf("previous log = %d %q", code, out)
	}
	// Backoff grows: 1s, 2s, 4s (the test's base and max).
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if e.agent.a.BackoffDelay(got.UID, "main") == 4*time.Second {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("backoff did not reach its maximum")
}

func TestReadinessProbeFailing(t *testing.T) {
	e := setup(t, nil)
	p := workloadPod(t, "unready", "http-server", corev1.EnvVar{Name: "PORT", Value: "8081"})
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/fail", Port: intstr.FromInt32(8081)}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}
	e.create(t, p)
	got := e.waitPod(t, "unready", "running and probed", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	// Let the probe run a few times; the pod never becomes ready.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		got, _ = e.client.CoreV1().Pods("default").Get(context.Background(), "unready", metav1.GetOptions{})
		if isReady(got) {
			t.Fatal("pod became Ready with a failing readiness probe")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c := condition(got, corev1.ContainersReady); c == nil || c.Reason != "ContainersNotReady" {
		t.Errorf("ContainersReady = %+v", c)
	}
}

func TestLivenessProbeRestarts(t *testing.T) {
	e := setup(t, nil)
	p := workloadPod(t, "live", "sleep")
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9)}},
		PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1,
	}
	e.create(t, p)
	e.waitPod(t, "live", "restarted by liveness", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
}

func TestNoCommandAndImageAlias(t *testing.T) {
	e := setup(t, func(c *agent.Config) { c.ImageAliases = map[string]string{"example/web": mustExe()} })
	p := workloadPod(t, "nocmd", "sleep")
	p.Spec.Containers[0].Command = nil
	p.Spec.Containers[0].Image = "nginx:1.27"
	e.create(t, p)
	got := e.waitPod(t, "nocmd", "waiting with a config error", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "CreateContainerConfigError"
	})
	if msg := got.Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, "no command") || !strings.Contains(msg, "--image-alias nginx=") {
		t.Errorf("message = %q", msg)
	}
	if got.Status.Phase != corev1.PodPending {
		t.Errorf("phase = %s", got.Status.Phase)
	}
	// A Warning event says so.
	deadline := time.Now().Add(10 * time.Second)
	found := false
	for !found && time.Now().Before(deadline) {
		evs, _ := e.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Name == "nocmd" && ev.Type == corev1.EventTypeWarning && strings.Contains(ev.Message, "no command") {
				found = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !found {
		t.Error("no Warning event")
	}

	p = workloadPod(t, "aliased", "sleep")
	p.Spec.Containers[0].Command = nil
	p.Spec.Containers[0].Image = "example/web:v2"
	e.create(t, p)
	e.waitPod(t, "aliased", "running", func(p *corev1.Pod) bool { return isReady(p) })

	// No command, no alias, but args: the image is taken as one without
	// an ENTRYPOINT, so the args run (kubectl run IMAGE -- PROGRAM ...).
	p = workloadPod(t, "argsonly", "echo", corev1.EnvVar{Name: "ECHO_VARS", Value: "POD_NAME"})
	p.Spec.Containers[0].Command = nil
	p.Spec.Containers[0].Args = []string{mustExe(), "first"}
	p.Spec.Containers[0].Image = "busybox"
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	e.create(t, p)
	e.waitPod(t, "argsonly", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if code, out := e.getLog(t, "argsonly", ""); code != 200 || !strings.Contains(out, "arg first") || strings.Contains(out, "arg "+mustExe()) {
		t.Errorf("log = %d %q", code, out)
	}
}

func TestGracefulDeletionKillsAfterGrace(t *testing.T) {
	e := setup(t, nil)
	p := workloadPod(t, "stubborn", "ignore-term")
	p.Spec.TerminationGracePeriodSeconds = ptr.To(int64(1))
	e.create(t, p)
	got := e.waitPod(t, "stubborn", "Ready", isReady)
	// Wait until the workload has set its signal handler.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, out := e.getLog(t, "stubborn", ""); strings.Contains(out, "ignoring SIGTERM") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	pid := pidOf(t, got.Status.ContainerStatuses[0])
	start := time.Now()
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "stubborn", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, "stubborn")
	waitProcessGone(t, pid)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("removed after %s, before the grace period", d)
	}
}

func TestAgentRestartKeepsProcesses(t *testing.T) {
	e := setup(t, nil)
	e.create(t, workloadPod(t, "durable", "sleep"))
	got := e.waitPod(t, "durable", "Ready", isReady)
	pid := pidOf(t, got.Status.ContainerStatuses[0])
	e.agent.stop()
	if processGone(pid) {
		t.Fatal("stopping the agent stopped the pod")
	}
	e.agent = startTestAgent(t, e.client, e.dir, nil)
	// The new agent adopts the process: same pid, still Ready, no restart.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if e.agent.a.Adopted(got.UID) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cur, _ := e.client.CoreV1().Pods("default").Get(context.Background(), "durable", metav1.GetOptions{})
	s := cur.Status.ContainerStatuses[0]
	if pidOf(t, s) != pid || s.RestartCount != 0 || s.State.Running == nil || !isReady(cur) {
		t.Fatalf("after restart: %+v", s)
	}
	// Logs still flow to the same file after the restart.
	// (Polled: the process may not have written it before the agent
	// stopped, and the new agent copies it from the pipe.)
	e.waitLog(t, "durable", "main", "sleeping")
	// The adopted process is watched: killing it restarts the container.
	syscall.Kill(-pid, syscall.SIGKILL)
	e.waitPod(t, "durable", "restarted", func(p *corev1.Pod) bool {
		s := p.Status.ContainerStatuses[0]
		return s.RestartCount == 1 && s.State.Running != nil
	})
	// And deleting it works.
	cur, _ = e.client.CoreV1().Pods("default").Get(context.Background(), "durable", metav1.GetOptions{})
	pid = pidOf(t, cur.Status.ContainerStatuses[0])
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "durable", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, "durable")
	waitProcessGone(t, pid)
}

func TestStopPodsOnExit(t *testing.T) {
	e := setup(t, func(c *agent.Config) { c.StopPodsOnExit = true })
	e.create(t, workloadPod(t, "ephemeral", "sleep"))
	got := e.waitPod(t, "ephemeral", "Ready", isReady)
	pid := pidOf(t, got.Status.ContainerStatuses[0])
	e.agent.stop()
	waitProcessGone(t, pid)
}

// A gRPC probe speaks grpc.health.v1, as the kubelet's: SERVING is ready,
// NOT_SERVING is not, with the kubelet's message; a port where nothing
// answers the protocol fails too.
func TestGRPCProbe(t *testing.T) {
	e := setup(t, nil)
	probe := func(port int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: port}},
			PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1}
	}
	good := workloadPod(t, "grpc-good", "grpc-health", corev1.EnvVar{Name: "PORT", Value: "9090"}, corev1.EnvVar{Name: "GRPC_STATUS", Value: "SERVING"})
	good.Spec.Containers[0].ReadinessProbe = probe(9090)
	bad := workloadPod(t, "grpc-bad", "grpc-health", corev1.EnvVar{Name: "PORT", Value: "9090"}, corev1.EnvVar{Name: "GRPC_STATUS", Value: "NOT_SERVING"})
	bad.Spec.Containers[0].ReadinessProbe = probe(9090)
	// An HTTP server is no gRPC health service.
	http := workloadPod(t, "grpc-http", "http-server", corev1.EnvVar{Name: "PORT", Value: "9090"})
	http.Spec.Containers[0].ReadinessProbe = probe(9090)
	for _, p := range []*corev1.Pod{good, bad, http} {
		e.create(t, p)
	}
	e.waitPod(t, "grpc-good", "Ready", isReady)
	want := map[string]string{
		"grpc-bad":  `Readiness probe failed: service unhealthy (responded with "NOT_SERVING")`,
		"grpc-http": `Readiness probe failed: `,
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(want) > 0 && time.Now().Before(deadline) {
		evs, _ := e.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		for _, ev := range evs.Items {
			w, ok := want[ev.InvolvedObject.Name]
			// The HTTP server's failure must come from talking to it, not
			// from a port where nothing listens yet.
			if ok && ev.Reason == "Unhealthy" && strings.HasPrefix(ev.Message, w) && !strings.Contains(ev.Message, "connection refused") {
				t.Logf("%s: %s", ev.InvolvedObject.Name, ev.Message)
				delete(want, ev.InvolvedObject.Name)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(want) > 0 {
		t.Fatalf("no Unhealthy event for %v", want)
	}
	for _, name := range []string{"grpc-bad", "grpc-http"} {
		p, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || isReady(p) {
			t.Errorf("%s ready (%v) with a failing gRPC probe", name, err)
		}
	}
}
