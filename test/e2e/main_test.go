// Package e2e builds the skiff binary once, starts `skiff server` on
// 127.0.0.1 with a fresh data dir and drives it with the real kubectl: the
// one `skiff kubectl` embeds and, when installed, the system's kubectl.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the skiff binary built for this test run.
var binary string

func TestMain(m *testing.M) {
	if w := os.Getenv(workloadEnv); w != "" {
		// This process is a pod's container (or a command run in one by
		// kubectl exec, named by its first argument): see workload_test.go.
		if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
			w = os.Args[1]
		}
		os.Exit(runWorkload(w))
	}
	flag.Parse()

	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "skiff-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "skiff")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/skiff")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build skiff:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a `skiff server` process started by a test.
type server struct {
	t       *testing.T
	dataDir string
	cmd     *exec.Cmd
	log     *bytes.Buffer
	done    chan error
}

// startServer starts skiff server on a fresh (or the given) data dir and
// waits until its kubeconfig is written.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	sourcesOnce.Do(func() { statSources("../..") })
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	kc := filepath.Join(dataDir, "kubeconfig")
	os.Remove(kc)
	// Pods stop with the server: the suite leaves no process behind.
	args := append([]string{"server", "--data-dir", dataDir, "--port", "0", "--log-level", "warn", "--stop-pods-on-exit"}, extra...)
	cmd := exec.Command(binary, args...)
	log := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	s := &server{t: t, dataDir: dataDir, cmd: cmd, log: log, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { s.stop(syscall.SIGTERM) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(kc); err == nil {
			return s
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("server exited: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 60s\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the server (by its PID) with sig and waits for it.
func (s *server) stop(sig syscall.Signal) {
	if s.cmd.Process == nil {
		return
	}
	select {
	case err := <-s.done:
		s.done <- err
		return
	default:
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		err := <-s.done
		s.done <- err
		s.t.Errorf("server did not stop on %v", sig)
	}
}

func (s *server) kubeconfig() string { return filepath.Join(s.dataDir, "kubeconfig") }

// kubectl is one flavour of kubectl run against a server.
type kubectl struct {
	name     string   // "embedded" or "system"
	argv     []string // the command before kubectl's arguments
	kc       string
	cacheDir string
	extraEnv []string
}

// kubectls returns the embedded kubectl and, when installed, the system's.
func kubectls(t *testing.T, s *server) []*kubectl {
	out := []*kubectl{{name: "embedded", argv: []string{binary, "kubectl"}, kc: s.kubeconfig(), cacheDir: t.TempDir()}}
	if path, err := exec.LookPath("kubectl"); err == nil && os.Getenv("SKIFF_E2E_NO_SYSTEM_KUBECTL") == "" {
		out = append(out, &kubectl{name: "system", argv: []string{path}, kc: s.kubeconfig(), cacheDir: t.TempDir()})
	}
	return out
}

// result is a finished kubectl command.
type result struct {
	stdout, stderr string
	err            error
}

// run runs kubectl with args (and stdin) and returns what it printed.
func (k *kubectl) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	argv := append(append([]string{}, k.argv...), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kc, "KUBECACHEDIR="+k.cacheDir, "HOME="+k.cacheDir)
	cmd.Env = append(cmd.Env, k.extraEnv...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	return result{stdout: so.String(), stderr: se.String(), err: err}
}

// ok runs kubectl and fails the test if it fails.
func (k *kubectl) ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := k.run(t, stdin, args...)
	if r.err != nil {
		t.Fatalf("%s kubectl %s: %v\nstdout: %s\nstderr: %s", k.name, strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

// try runs kubectl for a poll: its output, or an error saying why it
// failed (the object may not exist yet).
func (k *kubectl) try(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r := k.run(t, "", args...)
	if r.err != nil {
		return "", fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), r.err, strings.TrimSpace(r.stderr))
	}
	return r.stdout, nil
}

// fails runs kubectl, expects it to fail and returns its stderr.
func (k *kubectl) fails(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := k.run(t, stdin, args...)
	if r.err == nil {
		t.Fatalf("%s kubectl %s succeeded, want failure\nstdout: %s", k.name, strings.Join(args, " "), r.stdout)
	}
	return r.stderr
}

// eventually polls fn until it returns nil or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lines splits output into non-empty lines.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// sourcesOnce runs statSources in the first test that starts a server:
// files are recorded for the cache only once tests run, not in TestMain.
var sourcesOnce sync.Once

// statSources stats every Go source and module file under root. The
// binary is built by a subprocess, which go test's result cache does not
// see; the files a test stats are part of the cache key, so a change
// anywhere in the tree runs the suite again instead of reusing a result
// for an older binary.
func statSources(root string) {
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if name := d.Name(); strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" {
			_, _ = os.Stat(path)
		}
		return nil
	})
}
