package stream

import (
	"context"
	"fmt"
	"io"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/remotecommand"
)

// Attacher connects the client's streams to a running container's
// (kubectl attach). stdin, stdout and stderr are nil when the client did
// not ask for them; with tty stderr is nil. resize is nil unless tty is
// set. It returns when the session is over: nil when it ended normally
// (the container's output ended, or the client's input or the client),
// an error otherwise. ctx is cancelled when the client goes away.
type Attacher func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) error

// ServeAttach upgrades the request (WebSocket when asked for, SPDY
// otherwise) and runs attach with the client's streams; the same
// protocols as exec, without a command. The outcome goes to the client
// as the kubelet reports it: Success, or an InternalError "error
// attaching to container: …".
func ServeAttach(w http.ResponseWriter, r *http.Request, attach Attacher) {
	opts, err := parseExecOptions(r, false)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	serve(w, r, opts, func(ctx context.Context, opts execOptions, s *session, resize <-chan remotecommand.TerminalSize) metav1.Status {
		return attachStatus(attach(ctx, s.stdin, s.stdout, s.stderr, opts.tty, resize))
	})
}

func attachStatus(err error) metav1.Status {
	if err == nil {
		return metav1.Status{Status: metav1.StatusSuccess}
	}
	return apierrors.NewInternalError(fmt.Errorf("error attaching to container: %w", err)).ErrStatus
}
