package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
)

// Executor runs cmd in the pod's context with the given streams. stdin,
// stdout and stderr are nil when the client did not ask for them; with tty
// stderr is always nil (the terminal merges it into stdout). resize is nil
// unless tty is set, and is closed when the client stops sending sizes.
// It returns the command's exit code, or an error when the command could
// not be run at all. ctx is cancelled when the client goes away.
type Executor func(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) (exitCode int, err error)

// streamCreationTimeout bounds how long a SPDY client may take to open the
// streams it announced (upstream kubelet default).
const streamCreationTimeout = remotecommandconsts.DefaultStreamCreationTimeout

// streamIdleTimeout closes a streaming connection nobody uses (upstream
// kubelet default).
const streamIdleTimeout = 4 * time.Hour

// execOptions is what the client asked for in the query string.
type execOptions struct {
	command                    []string
	stdin, stdout, stderr, tty bool
}

// parseExecOptions reads the query of exec (command required) or attach.
// kubectl talking to the API sends PodExecOptions or PodAttachOptions
// (stdin/stdout/stderr=true); the API server talking to a kubelet sends
// input/output/error=1. Both spellings are accepted.
func parseExecOptions(r *http.Request, needCommand bool) (execOptions, error) {
	q := r.URL.Query()
	flag := func(names ...string) bool {
		for _, n := range names {
			if boolParam(q.Get(n)) {
				return true
			}
		}
		return false
	}
	o := execOptions{
		command: q[corev1.ExecCommandParam],
		stdin:   flag("stdin", corev1.ExecStdinParam),
		stdout:  flag("stdout", corev1.ExecStdoutParam),
		stderr:  flag("stderr", corev1.ExecStderrParam),
		tty:     flag(corev1.ExecTTYParam),
	}
	if needCommand && len(o.command) == 0 {
		return o, errors.New("command is required")
	}
	// A terminal has one output; upstream silently drops stderr too.
	if o.tty {
		o.stderr = false
	}
	if !o.stdin && !o.stdout && !o.stderr {
		return o, errors.New("you must specify at least 1 of stdin, stdout, stderr")
	}
	return o, nil
}

func boolParam(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// ServeExec upgrades the request (WebSocket when asked for, SPDY otherwise)
// and runs exec with the client's streams. It returns when the command has
// finished and its status was sent, or the client went away.
func ServeExec(w http.ResponseWriter, r *http.Request, exec Executor) {
	opts, err := parseExecOptions(r, true)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	serve(w, r, opts, func(ctx context.Context, opts execOptions, s *session, resize <-chan remotecommand.TerminalSize) metav1.Status {
		return exitStatus(exec(ctx, opts.command, s.stdin, s.stdout, s.stderr, opts.tty, resize))
	})
}

// handler runs one upgraded session and says how it ended.
type handler func(ctx context.Context, opts execOptions, s *session, resize <-chan remotecommand.TerminalSize) metav1.Status

// serve upgrades the request (WebSocket when asked for, SPDY otherwise)
// and runs h with the client's streams.
func serve(w http.ResponseWriter, r *http.Request, opts execOptions, h handler) {
	if wsstream.IsWebSocketRequest(r) {
		serveExecWebSocket(w, r, opts, h)
		return
	}
	serveExecSPDY(w, r, opts, h)
}

// session is one upgraded exec connection, whatever the transport.
type session struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	resize         io.Reader
	// writeStatus reports the outcome on the error stream in the
	// negotiated protocol's format.
	writeStatus func(metav1.Status) error
}

// run runs the session's handler and reports its outcome, the part
// common to both transports.
func (s *session) run(ctx context.Context, opts execOptions, h handler) {
	var resize chan remotecommand.TerminalSize
	if opts.tty && s.resize != nil {
		resize = make(chan remotecommand.TerminalSize)
		go decodeResizes(ctx, s.resize, resize)
	}
	st := h(ctx, opts, s, resize)
	// The status write may fail when the client is gone; nothing to do then.
	_ = s.writeStatus(st)
}

// decodeResizes turns the JSON TerminalSize objects the client sends into
// channel sends, closing out when the client stops.
func decodeResizes(ctx context.Context, r io.Reader, out chan<- remotecommand.TerminalSize) {
	defer close(out)
	dec := json.NewDecoder(r)
	for {
		var size remotecommand.TerminalSize
		if err := dec.Decode(&size); err != nil {
			return
		}
		select {
		case out <- size:
		case <-ctx.Done():
			return
		}
	}
}

// exitStatus is the metav1.Status a v4+ client decodes: Success, a
// NonZeroExitCode failure carrying the code (which client-go turns into an
// exec.CodeExitError), or an internal error.
func exitStatus(code int, err error) metav1.Status {
	switch {
	case err != nil:
		msg := fmt.Sprintf("error executing command in container: %v", err)
		return metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusInternalServerError,
			Reason:  metav1.StatusReasonInternalError,
			Message: msg,
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Message: err.Error()}}},
		}
	case code != 0:
		return metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommandconsts.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: exit status %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
				Type:    remotecommandconsts.ExitCodeCauseType,
				Message: strconv.Itoa(code),
			}}},
		}
	default:
		return metav1.Status{Status: metav1.StatusSuccess}
	}
}

// v4StatusWriter writes the status as JSON (protocol v4 and later).
func v4StatusWriter(w io.Writer) func(metav1.Status) error {
	return func(st metav1.Status) error {
		st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		b, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("encode status: %w", err)
		}
		_, err = w.Write(b)
		return err
	}
}

// v1StatusWriter writes only failures, as plain text (protocols v1..v3);
// those clients cannot learn the exit code except from the message.
func v1StatusWriter(w io.Writer) func(metav1.Status) error {
	return func(st metav1.Status) error {
		if st.Status == metav1.StatusSuccess {
			return nil
		}
		_, err := io.WriteString(w, st.Message)
		return err
	}
}

// badRequest answers 400 with a metav1.Status body, which client-go turns
// into a readable error (and, for a WebSocket attempt, into the upgrade
// failure that makes kubectl fall back to SPDY).
func badRequest(w http.ResponseWriter, msg string) {
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Code:     http.StatusBadRequest,
		Reason:   metav1.StatusReasonBadRequest,
		Message:  msg,
	}
	b, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b)
}
