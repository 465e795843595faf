package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/skiff-dev/skiff/internal/agent/runtime"
	"github.com/skiff-dev/skiff/internal/agent/stream"
)

// serveAttach connects the client to the running process of a container,
// as the kubelet (with containerd) does for kubectl attach:
//
//   - output: what the container writes from now on, stdout and stderr
//     as written (not the log, not what came before), until its output
//     ends (it exited) or the client goes away;
//   - input (-i): into the container's stdin if it has one (stdin: true);
//     a container without stdin ignores it, as containerd does. When the
//     client's input ends the session ends too, except with stdinOnce
//     (and no tty): then the container's stdin is closed for good (the
//     program reads EOF) and the output goes on until it ends;
//   - tty: the container's terminal (tty: true) is its console shim's
//     (see runtime); stdout carries it, resizes reach it. Whether a
//     session is a terminal is the container's choice, not the
//     client's: kubectl asks for one only when the container has one.
func (a *Agent) serveAttach(w http.ResponseWriter, r *http.Request, ns, name string) {
	pod, err := a.podOnNode(r, ns, name)
	if err != nil {
		WriteStatus(w, err)
		return
	}
	cname, err := logContainer(pod, r.URL.Query().Get("container"))
	if err != nil {
		WriteStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	c := findContainer(pod, cname)
	var proc *runtime.Process
	if worker := a.worker(pod.UID); worker != nil {
		proc = worker.process(cname)
	}
	if proc == nil {
		// The kubelet's answer (a plain-text 500), which kubectl shows as
		// "unable to upgrade connection: container … not found in pod …".
		http.Error(w, fmt.Sprintf("container %s not found in pod %s_%s", cname, pod.Name, pod.Namespace), http.StatusInternalServerError)
		return
	}
	stream.ServeAttach(w, r, func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) error {
		return attach(ctx, proc, c, stdin, stdout, stderr, tty, resize)
	})
}

// process is the running process of a container, nil if none.
func (w *podWorker) process(container string) *runtime.Process {
	w.mu.Lock()
	defer w.mu.Unlock()
	cs := w.st.Containers[container]
	if cs == nil || cs.proc == nil {
		return nil
	}
	select {
	case <-cs.proc.Done():
		return nil
	default:
		return cs.proc
	}
}

// errFellBehind ends a session whose client did not read the output as
// fast as the container wrote it (the container is not held up for it).
var errFellBehind = errors.New("the client did not keep up with the container's output")

// attach runs one session; see serveAttach.
func attach(ctx context.Context, proc *runtime.Process, c *corev1.Container, stdin io.Reader, stdout, stderr io.Writer, clientTTY bool, resize <-chan remotecommand.TerminalSize) error {
	out := proc.Subscribe()
	defer out.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if resize != nil {
		go func() {
			for size := range resize {
				if c.TTY {
					_ = proc.Resize(size.Width, size.Height)
				}
			}
		}()
	}
	if stdin != nil {
		in := &sessionInput{proc: proc, c: c}
		defer in.stop()
		go func() {
			if in.feed(stdin) {
				cancel()
			}
		}()
	}
	// Where each stream goes: a terminal has one output; a client that
	// asked for a terminal reads one.
	toStdout, toStderr := stdout, stderr
	if c.TTY || clientTTY {
		toStdout, toStderr = firstOf(stdout, stderr), firstOf(stdout, stderr)
	}
	for {
		chunks, more := out.Next()
		for _, chunk := range chunks {
			dst := toStdout
			if chunk.Stream == runtime.Stderr {
				dst = toStderr
			}
			if dst == nil {
				continue
			}
			if _, err := dst.Write(chunk.Data); err != nil {
				// The client is gone.
				return nil
			}
		}
		if !more {
			if out.FellBehind() {
				return errFellBehind
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-out.Ready():
		}
	}
}

func firstOf(ws ...io.Writer) io.Writer {
	for _, w := range ws {
		if w != nil {
			return w
		}
	}
	return nil
}

// sessionInput carries a client's input into a container's stdin.
type sessionInput struct {
	proc *runtime.Process
	c    *corev1.Container

	mu      sync.Mutex
	w       io.WriteCloser
	stopped bool
}

// feed copies the client's input until it ends, then closes a stdinOnce
// input for good. It reports whether the session ends with the input.
func (in *sessionInput) feed(stdin io.Reader) (endSession bool) {
	if !in.c.Stdin {
		// Ignored, as containerd ignores it.
		_, _ = io.Copy(io.Discard, stdin)
		return false
	}
	w, err := in.proc.OpenStdin()
	if err != nil {
		// Closed after its first session (stdinOnce): output only.
		_, _ = io.Copy(io.Discard, stdin)
		return false
	}
	in.mu.Lock()
	if in.stopped {
		in.mu.Unlock()
		w.Close()
		return false
	}
	in.w = w
	in.mu.Unlock()
	_, _ = io.Copy(w, stdin)
	in.stop()
	if in.c.StdinOnce && !in.c.TTY {
		_ = in.proc.CloseStdin()
		return false
	}
	return true
}

// stop closes the session's writer, which also ends a write blocked on
// a container that does not read.
func (in *sessionInput) stop() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stopped = true
	if in.w != nil {
		in.w.Close()
		in.w = nil
	}
}
