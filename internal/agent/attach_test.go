package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/internal/agent"
	"github.com/skiff-dev/skiff/internal/agent/pty"
	"github.com/skiff-dev/skiff/internal/pki"
	"github.com/skiff-dev/skiff/internal/syncbuf"
	"github.com/skiff-dev/skiff/internal/testserver"
)

// The tests below drive the kubectl on PATH through the whole path
// kubectl attach takes: the API server's pod router proxies to the
// agent's HTTPS endpoint, which serves WebSocket and SPDY.

// attachWorkload holds the workloads of these tests (see workload).
func attachWorkload(name string) (int, bool) {
	switch name {
	case "ticker":
		// Says what its stdin is, then "<prefix>tick N" on stdout and
		// "<prefix>err N" on stderr every 50ms until STOP_FILE exists.
		target, _ := os.Readlink("/proc/self/fd/0")
		fmt.Println("stdin", target)
		prefix := os.Getenv("PREFIX")
		for i := 0; ; i++ {
			if _, err := os.Stat(os.Getenv("STOP_FILE")); err == nil {
				fmt.Println("bye")
				return 0, true
			}
			fmt.Printf("%stick %d\n", prefix, i)
			fmt.Fprintf(os.Stderr, "%serr %d\n", prefix, i)
			time.Sleep(50 * time.Millisecond)
		}
	case "stdin-echo":
		// Echoes its input lines; says so when the input ends, and exits.
		fmt.Println("ready")
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Printf("echo:%s\n", sc.Text())
		}
		fmt.Println("stdin closed")
		return 0, true
	case "tty-echo":
		// On a terminal of 100x40 (as kubectl sets it), echoes one line.
		if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
			fmt.Println("not a terminal:", err)
			return 1, true
		}
		fmt.Println("on a terminal")
		deadline := time.Now().Add(30 * time.Second)
		for {
			ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
			if err == nil && ws.Col == 100 && ws.Row == 40 {
				break
			}
			if time.Now().After(deadline) {
				fmt.Printf("size stayed %dx%d\n", ws.Col, ws.Row)
				return 1, true
			}
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Println("size 100x40")
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Printf("got:%s\n", strings.TrimSpace(line))
		return 0, true
	}
	return 0, false
}

// setupServing is setup with the agent serving HTTPS, published on its
// Node, so that the API server routes pods/attach to it.
func setupServing(t *testing.T) *env {
	t.Helper()
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("no kubectl on PATH")
	}
	srv := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	killLeftovers(t, dir)
	e := &env{srv: srv, client: srv.Client, dir: dir}
	e.startServingAgent(t)
	return e
}

func (e *env) startServingAgent(t *testing.T) {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(e.srv.DataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	old := ""
	if n, err := e.client.CoreV1().Nodes().Get(context.Background(), testNode, metav1.GetOptions{}); err == nil {
		old = fmt.Sprint(n.Status.DaemonEndpoints.KubeletEndpoint.Port)
	}
	e.agent = startTestAgent(t, e.client, e.dir, func(c *agent.Config) { c.ServeAddress, c.ClientCA = "127.0.0.1:0", ca })
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := e.client.CoreV1().Nodes().Get(context.Background(), testNode, metav1.GetOptions{})
		if err == nil && n.Annotations[pki.ServingCertAnnotation] != "" {
			if port := n.Status.DaemonEndpoints.KubeletEndpoint.Port; port > 0 && fmt.Sprint(port) != old {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent endpoint not published: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kubectl builds a kubectl command against the test server, with the
// transport chosen through kubectl's feature-gate variable.
func (e *env) kubectl(ctx context.Context, t *testing.T, websockets bool, args ...string) *exec.Cmd {
	t.Helper()
	home := t.TempDir()
	full := append([]string{"--kubeconfig", e.srv.Kubeconfig, "--cache-dir", filepath.Join(home, "cache"), "-n", "default"}, args...)
	c := exec.CommandContext(ctx, "kubectl", full...)
	c.Env = append(os.Environ(), "HOME="+home, "KUBECTL_REMOTE_COMMAND_WEBSOCKETS="+strconv.FormatBool(websockets))
	return c
}

func waitText(t *testing.T, what string, buf interface{ String() string }, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks %q: %q", what, want, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExit waits for a started kubectl and fails on an error.
func waitExit(t *testing.T, c *exec.Cmd, stderr fmt.Stringer) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("kubectl %s: %v; stderr %q", strings.Join(c.Args[7:], " "), err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = c.Process.Kill()
		t.Fatalf("kubectl %s did not end; stderr %q", strings.Join(c.Args[7:], " "), stderr.String())
	}
}

func tickerPod(t *testing.T, name, stop string) *corev1.Pod {
	p := workloadPod(t, name, "ticker", corev1.EnvVar{Name: "STOP_FILE", Value: stop})
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	return p
}

// kubectl attach (no -i) streams what the container writes from then on
// (not the log before), stdout and stderr apart, and ends when the
// container does. The container's stdin is /dev/null.
func TestAttachStreamsLiveOutput(t *testing.T) {
	e := setupServing(t)
	for _, websockets := range []bool{true, false} {
		t.Run(fmt.Sprintf("websockets=%v", websockets), func(t *testing.T) {
			name := fmt.Sprintf("ticker-%v", websockets)
			stop := filepath.Join(t.TempDir(), "stop")
			e.create(t, tickerPod(t, name, stop))
			e.waitPod(t, name, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
			e.waitLog(t, name, "main", "tick 3\n")
			if _, log := e.getLog(t, name, ""); !strings.Contains(log, "stdin /dev/null\n") {
				t.Fatalf("container's stdin is not /dev/null: %q", log)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := e.kubectl(ctx, t, websockets, "attach", name)
			out, errb := startKubectl(t, c)
			waitText(t, "stdout", out, "tick")
			waitText(t, "stderr", errb, "err")
			if err := os.WriteFile(stop, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			waitExit(t, c, errb)
			got := out.String()
			if strings.Contains(got, "tick 0\n") || strings.Contains(got, "stdin") {
				t.Errorf("attach replayed the log: %q", got)
			}
			if strings.Contains(got, "err ") {
				t.Errorf("stderr on stdout: %q", got)
			}
			if !strings.HasSuffix(got, "bye\n") {
				t.Errorf("attach output does not end with the container's: %q", got)
			}
		})
	}
}

// kubectl attach -i carries input into a stdin: true container; the
// input does not end with a session, nor with an agent restart (the new
// agent opens the pipe again).
func TestAttachStdinAcrossSessionsAndRestart(t *testing.T) {
	e := setupServing(t)
	p := workloadPod(t, "echo", "stdin-echo")
	p.Spec.Containers[0].Stdin = true
	got := e.create(t, p)
	e.waitPod(t, "echo", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	e.waitLog(t, "echo", "main", "ready")
	session := func(websockets bool, line string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := e.kubectl(ctx, t, websockets, "attach", "-i", "echo")
		in, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, errb := startKubectl(t, c)
		// The session is up once kubectl says so; input sent before
		// would still arrive (the pipe keeps it), but its echo could
		// come before the output is watched.
		waitText(t, "kubectl stderr", errb, "If you don't see a command prompt")
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), "echo:"+line) {
			if _, err := io.WriteString(in, line+"\n"); err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("no echo of %q: %q; stderr %q", line, out.String(), errb.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
		// The end of the client's input ends the session, not the
		// container's input.
		in.Close()
		waitExit(t, c, errb)
	}
	session(true, "one")
	session(false, "two")
	e.agent.stop()
	e.startServingAgent(t)
	waitAdopted(t, e, got)
	session(true, "three")
	_, log := e.getLog(t, "echo", "")
	if strings.Contains(log, "stdin closed") {
		t.Fatalf("the container's input ended: %q", log)
	}
	cur, err := e.client.CoreV1().Pods("default").Get(context.Background(), "echo", metav1.GetOptions{})
	if err != nil || cur.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("container restarted: %v %+v", err, cur.Status.ContainerStatuses)
	}
}

func waitAdopted(t *testing.T, e *env, pod *corev1.Pod) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !e.agent.a.Adopted(pod.UID) {
		if time.Now().After(deadline) {
			t.Fatal("pod not adopted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// With stdinOnce the input stays open until the first attach session
// ends, an agent restart before it included; then the container reads
// EOF, and the session goes on until the container's output ends.
func TestAttachStdinOnce(t *testing.T) {
	e := setupServing(t)
	p := workloadPod(t, "once", "stdin-echo")
	p.Spec.Containers[0].Stdin, p.Spec.Containers[0].StdinOnce = true, true
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	got := e.create(t, p)
	e.waitPod(t, "once", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	e.waitLog(t, "once", "main", "ready")
	e.agent.stop()
	e.startServingAgent(t)
	waitAdopted(t, e, got)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.kubectl(ctx, t, true, "attach", "-i", "once")
	c.Stdin = strings.NewReader("a\nb\n")
	out, errb := startKubectl(t, c)
	waitExit(t, c, errb)
	if want := "echo:a\necho:b\nstdin closed\n"; out.String() != want {
		t.Fatalf("attach output %q, want %q", out.String(), want)
	}
	// (Its exit code is unknown: the restarted agent adopted it.)
	e.waitPod(t, "once", "terminated", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Terminated != nil
	})
}

// kubectl attach -it to a container without stdin or tty: kubectl says
// it cannot use a TTY and goes on without; the input is ignored (as
// containerd does), the output streams.
func TestAttachInputWithoutStdin(t *testing.T) {
	e := setupServing(t)
	stop := filepath.Join(t.TempDir(), "stop")
	e.create(t, tickerPod(t, "nostdin", stop))
	e.waitPod(t, "nostdin", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.kubectl(ctx, t, true, "attach", "-it", "nostdin")
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, errb := startKubectl(t, c)
	if _, err := io.WriteString(in, "ignored\n"); err != nil {
		t.Fatal(err)
	}
	waitText(t, "stdout", out, "tick")
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitExit(t, c, errb)
	if !strings.HasSuffix(out.String(), "bye\n") {
		t.Errorf("output %q", out.String())
	}
	if !strings.Contains(errb.String(), "Unable to use a TTY - container main did not allocate one") {
		t.Errorf("kubectl stderr %q", errb.String())
	}
	in.Close()
}

// kubectl attach -c picks a container of a pod with several; one that
// does not run cannot be attached to.
func TestAttachNamedContainer(t *testing.T) {
	e := setupServing(t)
	stopMain, stopSecond := filepath.Join(t.TempDir(), "stop-main"), filepath.Join(t.TempDir(), "stop-second")
	p := tickerPod(t, "two", stopMain)
	second := *p.Spec.Containers[0].DeepCopy()
	second.Name = "second"
	for i := range second.Env {
		if second.Env[i].Name == "STOP_FILE" {
			second.Env[i].Value = stopSecond
		}
	}
	second.Env = append(second.Env, corev1.EnvVar{Name: "PREFIX", Value: "second-"})
	p.Spec.Containers = append(p.Spec.Containers, second)
	e.create(t, p)
	e.waitPod(t, "two", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.kubectl(ctx, t, true, "attach", "two", "-c", "second")
	out, errb := startKubectl(t, c)
	waitText(t, "stdout", out, "second-tick")

	if err := os.WriteFile(stopMain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitPod(t, "two", "main terminated", func(p *corev1.Pod) bool {
		for _, s := range p.Status.ContainerStatuses {
			if s.Name == "main" {
				return s.State.Terminated != nil
			}
		}
		return false
	})
	b, err := e.kubectl(ctx, t, true, "attach", "two", "-c", "main").CombinedOutput()
	if err == nil || !strings.Contains(string(b), "container main not found in pod two_default") {
		t.Fatalf("attach to an ended container: %v %s", err, b)
	}

	if err := os.WriteFile(stopSecond, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitExit(t, c, errb)
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l != "bye" && !strings.HasPrefix(l, "second-tick ") {
			t.Fatalf("line %q not from the second container: %q", l, out.String())
		}
	}
	t.Logf("kubectl on an ended container: %s", b)
}

// kubectl attach -it to a tty: true container: kubectl's terminal size
// reaches the container's terminal, typed input and output go both ways.
func TestAttachTTY(t *testing.T) {
	e := setupServing(t)
	p := workloadPod(t, "term", "tty-echo")
	p.Spec.Containers[0].Stdin, p.Spec.Containers[0].StdinOnce, p.Spec.Containers[0].TTY = true, true, true
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	e.create(t, p)
	e.waitPod(t, "term", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	e.waitLog(t, "term", "main", "on a terminal")
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptm.Close()
	if err := pty.SetSize(ptm, 100, 40); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.kubectl(ctx, t, true, "attach", "-it", "term")
	c.Stdin, c.Stdout, c.Stderr = pts, pts, pts
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	err = c.Start()
	pts.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := new(syncbuf.Buffer)
	go func() { _, _ = io.Copy(out, ptm) }()
	waitText(t, "terminal", out, "size 100x40")
	if _, err := io.WriteString(ptm, "ping\r"); err != nil {
		t.Fatal(err)
	}
	waitText(t, "terminal", out, "got:ping")
	waitExit(t, c, out)
}

// startKubectl starts c with its output and errors collected.
func startKubectl(t *testing.T, c *exec.Cmd) (out, errb *syncbuf.Buffer) {
	t.Helper()
	out, errb = new(syncbuf.Buffer), new(syncbuf.Buffer)
	c.Stdout, c.Stderr = out, errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return out, errb
}
