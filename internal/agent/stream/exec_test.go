package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	osexec "os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	streamhttp "k8s.io/streaming/pkg/httpstream"

	"github.com/skiff-dev/skiff/internal/syncbuf"
)

func execURL(srv string, cmd []string, stdin, tty bool) *url.URL {
	q := url.Values{}
	for _, c := range cmd {
		q.Add("command", c)
	}
	q.Set("stdout", "true")
	q.Set("stderr", "true")
	if stdin {
		q.Set("stdin", "true")
	}
	if tty {
		q.Set("tty", "true")
	}
	u, _ := url.Parse(srv + "/exec?" + q.Encode())
	return u
}

type executorKind string

const (
	viaSPDY      executorKind = "spdy"
	viaWebSocket executorKind = "websocket"
	viaFallback  executorKind = "fallback" // websocket refused -> spdy
)

func newExecutor(t *testing.T, kind executorKind, cfg *rest.Config, u *url.URL) remotecommand.Executor {
	t.Helper()
	spdyExec, err := remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
	if err != nil {
		t.Fatal(err)
	}
	switch kind {
	case viaSPDY:
		return spdyExec
	case viaWebSocket:
		ws, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u.String())
		if err != nil {
			t.Fatal(err)
		}
		return ws
	default:
		// A subprotocol the server does not speak gets a non-101 answer,
		// which must make kubectl's fallback executor switch to SPDY.
		ws, err := remotecommand.NewWebSocketExecutorForProtocols(cfg, http.MethodGet, u.String(), "v99.channel.k8s.io")
		if err != nil {
			t.Fatal(err)
		}
		fb, err := remotecommand.NewFallbackExecutor(ws, spdyExec, func(err error) bool {
			return streamhttp.IsUpgradeFailure(err) || streamhttp.IsHTTPSProxyError(err)
		})
		if err != nil {
			t.Fatal(err)
		}
		return fb
	}
}

func TestExecRoundTrip(t *testing.T) {
	srv, cfg := startServer(t, helperExecutor(t), nil)
	for _, kind := range []executorKind{viaSPDY, viaWebSocket, viaFallback} {
		t.Run(string(kind), func(t *testing.T) {
			tests := []struct {
				name     string
				cmd      []string
				stdin    string
				wantOut  string
				wantErr  string
				wantCode int
			}{
				{name: "success", cmd: []string{"echo", "0"}, stdin: "hello\nworld\n", wantOut: "hello\nworld\n", wantErr: "stderr-line\n"},
				{name: "exit code", cmd: []string{"echo", "3"}, stdin: "x", wantOut: "x", wantErr: "stderr-line\n", wantCode: 3},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					ex := newExecutor(t, kind, cfg, execURL(srv.URL, tc.cmd, true, false))
					var out, errb bytes.Buffer
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{
						Stdin: strings.NewReader(tc.stdin), Stdout: &out, Stderr: &errb,
					})
					checkExit(t, err, tc.wantCode)
					if out.String() != tc.wantOut {
						t.Errorf("stdout = %q, want %q", out.String(), tc.wantOut)
					}
					if errb.String() != tc.wantErr {
						t.Errorf("stderr = %q, want %q", errb.String(), tc.wantErr)
					}
				})
			}
		})
	}
}

func checkExit(t *testing.T, err error, want int) {
	t.Helper()
	if want == 0 {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		return
	}
	var ce utilexec.CodeExitError
	if !errors.As(err, &ce) {
		t.Fatalf("stream error = %v (%T), want exec.CodeExitError", err, err)
	}
	if ce.Code != want {
		t.Fatalf("exit code = %d, want %d", ce.Code, want)
	}
}

func TestExecWithoutStdin(t *testing.T) {
	srv, cfg := startServer(t, helperExecutor(t), nil)
	for _, kind := range []executorKind{viaSPDY, viaWebSocket} {
		t.Run(string(kind), func(t *testing.T) {
			ex := newExecutor(t, kind, cfg, execURL(srv.URL, []string{"out", "a", "b"}, false, false))
			var out, errb bytes.Buffer
			if err := ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: &out, Stderr: &errb}); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if out.String() != "a b\n" {
				t.Errorf("stdout = %q", out.String())
			}
		})
	}
}

// sizeQueue hands out one size, then blocks until stopped.
type sizeQueue struct {
	once sync.Once
	stop chan struct{}
}

func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	first := false
	q.once.Do(func() { first = true })
	if first {
		return &remotecommand.TerminalSize{Width: 100, Height: 40}
	}
	<-q.stop
	return nil
}

func TestExecTTYResize(t *testing.T) {
	srv, cfg := startServer(t, helperExecutor(t), nil)
	for _, kind := range []executorKind{viaSPDY, viaWebSocket} {
		t.Run(string(kind), func(t *testing.T) {
			ex := newExecutor(t, kind, cfg, execURL(srv.URL, []string{"tty"}, true, true))
			q := &sizeQueue{stop: make(chan struct{})}
			defer close(q.stop)
			var out syncbuf.Buffer
			// stdin is sent only after the resize was seen, so the line is
			// not read before the terminal is ready.
			inR, inW := newPipe()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- ex.StreamWithContext(ctx, remotecommand.StreamOptions{
					Stdin: inR, Stdout: &out, Tty: true, TerminalSizeQueue: q,
				})
			}()
			waitFor(t, func() bool { return strings.Contains(out.String(), "size 100x40") }, &out)
			if _, err := inW.Write([]byte("ping\n")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return strings.Contains(out.String(), "got:ping") }, &out)
			_ = inW.Close()
			if err := <-done; err != nil {
				t.Fatalf("stream: %v; output %q", err, out.String())
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool, out *syncbuf.Buffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out; output so far %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExecRejectsBadRequests(t *testing.T) {
	srv, _ := startServer(t, helperExecutor(t), nil)
	for name, query := range map[string]string{
		"no command": "stdout=true",
		"no streams": "command=out",
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := srv.Client().Post(srv.URL+"/exec?"+query, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status = %d, want 400", resp.StatusCode)
			}
		})
	}
}

// TestExecClientGoneCancels checks that a client going away cancels the
// executor's context, so the agent can kill the command.
func TestExecClientGoneCancels(t *testing.T) {
	started, cancelled := make(chan struct{}, 1), make(chan struct{}, 1)
	exec := func(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		cancelled <- struct{}{}
		return 0, ctx.Err()
	}
	srv, cfg := startServer(t, exec, nil)
	for _, kind := range []executorKind{viaSPDY, viaWebSocket} {
		t.Run(string(kind), func(t *testing.T) {
			ex := newExecutor(t, kind, cfg, execURL(srv.URL, []string{"sleep"}, false, false))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
			}()
			wait := func(ch <-chan struct{}, what string) {
				select {
				case <-ch:
				case <-time.After(20 * time.Second):
					t.Fatalf("timed out waiting for %s", what)
				}
			}
			wait(started, "executor start")
			cancel()
			wait(cancelled, "executor context cancellation")
			<-done
		})
	}
}

func TestCmdExecutorSignalExitCode(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ex := CmdExecutor(func(ctx context.Context, cmd []string) (*osexec.Cmd, error) {
		c := osexec.Command(self, cmd...)
		c.Env = append(os.Environ(), helperEnv+"=1")
		return c, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the process is killed as soon as it starts
	code, err := ex(ctx, []string{"sleep"}, nil, io.Discard, io.Discard, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code != 128+9 {
		t.Fatalf("exit code = %d, want 137 (SIGKILL)", code)
	}
}

// TestExecOutlivesServerTimeouts checks that the server's read/write
// timeouts do not cut off a session that lasts longer than them (net/http
// clears the deadlines when the upgrade hijacks the connection).
func TestExecOutlivesServerTimeouts(t *testing.T) {
	srv, cfg := startServerWithTimeout(t, helperExecutor(t), nil, 500*time.Millisecond)
	for _, kind := range []executorKind{viaSPDY, viaWebSocket} {
		t.Run(string(kind), func(t *testing.T) {
			ex := newExecutor(t, kind, cfg, execURL(srv.URL, []string{"late"}, false, false))
			var out bytes.Buffer
			if err := ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: &out, Stderr: io.Discard}); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if out.String() != "late\n" {
				t.Errorf("stdout = %q", out.String())
			}
		})
	}
}

// TestCmdExecutorKillsProcessGroup checks that a cancelled exec also ends
// the children of a command that leads its own process group.
func TestCmdExecutorKillsProcessGroup(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	pidFile := t.TempDir() + "/child.pid"
	ex := CmdExecutor(func(ctx context.Context, cmd []string) (*osexec.Cmd, error) {
		c := osexec.Command("/bin/sh", "-c", "sleep 60 & echo $! > "+pidFile+"; wait")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return c, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		code, _ := ex(ctx, []string{"sh"}, nil, io.Discard, io.Discard, false, nil)
		done <- code
	}()
	var pid int
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("child never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 137 {
		t.Fatalf("exit code = %d, want 137", code)
	}
	// The killed child is reaped by init; until then it may linger as a
	// zombie, which signal 0 still reports as present, so look at its state.
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d still running: %s", pid, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
