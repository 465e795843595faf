//go:build linux

package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/skiff-dev/skiff/internal/agent/pty"
	"github.com/skiff-dev/skiff/internal/syncbuf"
)

// The tests below drive the kubectl binary on PATH (if any) against a tiny
// fake API server that serves just enough discovery and one Running pod
// "p", with exec and portforward handled by this package. They show the
// wire protocols work with an unmodified kubectl, WebSocket and SPDY alike.

const (
	apiVersions  = `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}`
	apiGroups    = `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`
	coreV1       = `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]},{"name":"pods/exec","singularName":"","namespaced":true,"kind":"PodExecOptions","verbs":["create","get"]},{"name":"pods/portforward","singularName":"","namespaced":true,"kind":"PodPortForwardOptions","verbs":["create","get"]}]}`
	runningPodP  = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"default","uid":"u1"},"spec":{"containers":[{"name":"c","image":"x"}]},"status":{"phase":"Running","podIP":"127.0.0.1"}}`
	podPath      = "/api/v1/namespaces/default/pods/p"
	kubectlLimit = 60 * time.Second
)

// transports records which transport each exec/portforward request used.
type transports struct {
	mu   sync.Mutex
	seen []string
}

func (tr *transports) record(r *http.Request) {
	kind := "spdy"
	if wsstream.IsWebSocketRequest(r) {
		kind = "websocket"
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.seen = append(tr.seen, kind)
}

// take returns and forgets what was recorded.
func (tr *transports) take() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s := tr.seen
	tr.seen = nil
	return s
}

// startFakeAPI serves discovery, pod p and its exec/portforward.
func startFakeAPI(t *testing.T, exec Executor, dial Dialer) (kubeconfig string, seen *transports) {
	t.Helper()
	seen = &transports{}
	srv, _ := startServer(t, exec, dial)
	mux := http.NewServeMux()
	static := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		}
	}
	mux.Handle("/api", static(apiVersions))
	mux.Handle("/apis", static(apiGroups))
	mux.Handle("/api/v1", static(coreV1))
	mux.Handle(podPath, static(runningPodP))
	mux.HandleFunc(podPath+"/exec", func(w http.ResponseWriter, r *http.Request) {
		seen.record(r)
		ServeExec(w, r, exec)
	})
	mux.HandleFunc(podPath+"/attach", func(w http.ResponseWriter, r *http.Request) {
		seen.record(r)
		ServeAttach(w, r, echoAttacher)
	})
	mux.HandleFunc(podPath+"/portforward", func(w http.ResponseWriter, r *http.Request) {
		seen.record(r)
		ServePortForward(w, r, dial)
	})
	srv.Config.Handler = mux
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	dir := t.TempDir()
	path := filepath.Join(dir, "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: u
  user: {token: test}
contexts:
- name: x
  context: {cluster: c, user: u, namespace: default}
current-context: x
`, srv.URL, b64(ca))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, seen
}

func kubectlPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl on PATH")
	}
	return p
}

// kubectlCmd builds a kubectl invocation with its own cache and the
// transport choice made through kubectl's feature-gate variables.
func kubectlCmd(ctx context.Context, t *testing.T, kubeconfig string, websockets bool, args ...string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	full := append([]string{"--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(dir, "cache")}, args...)
	c := exec.CommandContext(ctx, kubectlPath(t), full...)
	ws := "true"
	if !websockets {
		ws = "false"
	}
	c.Env = append(os.Environ(), "HOME="+dir,
		"KUBECTL_REMOTE_COMMAND_WEBSOCKETS="+ws, "KUBECTL_PORT_FORWARD_WEBSOCKETS="+ws)
	return c
}

func TestKubectlExec(t *testing.T) {
	kubectlPath(t)
	kubeconfig, seen := startFakeAPI(t, helperExecutor(t), nil)
	for _, websockets := range []bool{true, false} {
		t.Run(fmt.Sprintf("websockets=%v", websockets), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
			defer cancel()
			c := kubectlCmd(ctx, t, kubeconfig, websockets, "exec", "-i", "p", "--", "echo", "3")
			var out, errb bytes.Buffer
			c.Stdin, c.Stdout, c.Stderr = strings.NewReader("hello\n"), &out, &errb
			err := c.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Fatalf("kubectl exec = %v, want exit status 3; stderr %q", err, errb.String())
			}
			if out.String() != "hello\n" {
				t.Errorf("stdout = %q", out.String())
			}
			if !strings.Contains(errb.String(), "stderr-line") {
				t.Errorf("stderr = %q", errb.String())
			}
			checkTransport(t, seen.take(), websockets)
		})
	}
}

// TestKubectlAttach runs `kubectl attach [-i]` against echoAttacher:
// kubectl asks for stdout and stderr (and stdin with -i), no tty.
func TestKubectlAttach(t *testing.T) {
	kubectlPath(t)
	kubeconfig, seen := startFakeAPI(t, nil, nil)
	for _, websockets := range []bool{true, false} {
		t.Run(fmt.Sprintf("websockets=%v", websockets), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
			defer cancel()
			c := kubectlCmd(ctx, t, kubeconfig, websockets, "attach", "-i", "p")
			var out, errb bytes.Buffer
			c.Stdin, c.Stdout, c.Stderr = strings.NewReader("hello\n"), &out, &errb
			if err := c.Run(); err != nil {
				t.Fatalf("kubectl attach -i: %v; stderr %q", err, errb.String())
			}
			if want := "stdin=true stderr=true tty=false resize=false\nhello\n"; out.String() != want {
				t.Errorf("stdout = %q, want %q", out.String(), want)
			}
			if !strings.Contains(errb.String(), "to stderr") {
				t.Errorf("stderr = %q", errb.String())
			}
			checkTransport(t, seen.take(), websockets)

			c = kubectlCmd(ctx, t, kubeconfig, websockets, "attach", "p")
			out.Reset()
			c.Stdout = &out
			if err := c.Run(); err != nil {
				t.Fatalf("kubectl attach: %v", err)
			}
			if want := "stdin=false stderr=true tty=false resize=false\n"; out.String() != want {
				t.Errorf("stdout = %q, want %q", out.String(), want)
			}
			checkTransport(t, seen.take(), websockets)
		})
	}
}

func TestKubectlPortForward(t *testing.T) {
	kubectlPath(t)
	echoPort := startEchoServer(t)
	dial := func(ctx context.Context, port int32) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	}
	kubeconfig, seen := startFakeAPI(t, nil, dial)
	forwarding := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) ->`)
	for _, websockets := range []bool{true, false} {
		t.Run(fmt.Sprintf("websockets=%v", websockets), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
			defer cancel()
			c := kubectlCmd(ctx, t, kubeconfig, websockets, "port-forward", "--address", "127.0.0.1", "pod/p", fmt.Sprintf(":%d", echoPort))
			stdout, err := c.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var errb bytes.Buffer
			c.Stderr = &errb
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = c.Process.Kill()
				_ = c.Wait()
			}()
			sc := bufio.NewScanner(stdout)
			local := ""
			for local == "" && sc.Scan() {
				if m := forwarding.FindStringSubmatch(sc.Text()); m != nil {
					local = m[1]
				}
			}
			if local == "" {
				t.Fatalf("no forwarding line; stderr %q", errb.String())
			}
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			port, err := strconv.Atoi(local)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if err := echoSession(port, i); err != nil {
					t.Fatalf("session %d: %v; kubectl stderr %q", i, err, errb.String())
				}
			}
			checkTransport(t, seen.take(), websockets)
		})
	}
}

// checkTransport asserts kubectl used one connection of the expected kind.
func checkTransport(t *testing.T, seen []string, websockets bool) {
	t.Helper()
	want := "spdy"
	if websockets {
		want = "websocket"
	}
	if len(seen) != 1 || seen[0] != want {
		t.Errorf("transports used = %v, want [%s]", seen, want)
	}
}

// TestKubectlExecTTY runs `kubectl exec -it` inside a pseudo-terminal of
// size 100x40: kubectl must pass that size on (the helper waits for it)
// and carry typed input and terminal output both ways.
func TestKubectlExecTTY(t *testing.T) {
	kubectlPath(t)
	kubeconfig, seen := startFakeAPI(t, helperExecutor(t), nil)
	for _, websockets := range []bool{true, false} {
		t.Run(fmt.Sprintf("websockets=%v", websockets), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
			defer cancel()
			ptm, pts, err := pty.Open()
			if err != nil {
				t.Skipf("no pty: %v", err)
			}
			defer ptm.Close()
			if err := setWinsize(ptm, remotecommand.TerminalSize{Width: 100, Height: 40}); err != nil {
				t.Fatal(err)
			}
			c := kubectlCmd(ctx, t, kubeconfig, websockets, "exec", "-it", "p", "--", "tty")
			c.Stdin, c.Stdout, c.Stderr = pts, pts, pts
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
			err = c.Start()
			_ = pts.Close()
			if err != nil {
				t.Fatal(err)
			}
			var out syncbuf.Buffer
			go func() { _, _ = io.Copy(&out, ptm) }()
			waitFor(t, func() bool { return strings.Contains(out.String(), "size 100x40") }, &out)
			if _, err := io.WriteString(ptm, "ping\n"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return strings.Contains(out.String(), "got:ping") }, &out)
			if err := c.Wait(); err != nil {
				t.Fatalf("kubectl exec -it: %v; output %q", err, out.String())
			}
			checkTransport(t, seen.take(), websockets)
		})
	}
}
