//go:build !linux

package stream

import (
	"context"
	"errors"
	"io"
	"os/exec"

	"k8s.io/client-go/tools/remotecommand"
)

func runTTY(context.Context, *exec.Cmd, io.Reader, io.Writer, <-chan remotecommand.TerminalSize) (int, error) {
	return 0, errors.New("tty sessions are only supported on linux")
}
