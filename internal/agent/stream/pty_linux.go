//go:build linux

package stream

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"k8s.io/client-go/tools/remotecommand"

	"github.com/skiff-dev/skiff/internal/agent/pty"
)

func setWinsize(ptm *os.File, size remotecommand.TerminalSize) error {
	return pty.SetSize(ptm, size.Width, size.Height)
}

// runTTY runs c as a session leader with the pty as its controlling
// terminal, so job control and Ctrl-C behave as in a real terminal.
func runTTY(ctx context.Context, c *exec.Cmd, stdin io.Reader, stdout io.Writer, resize <-chan remotecommand.TerminalSize) (int, error) {
	ptm, pts, err := pty.Open()
	if err != nil {
		return 0, err
	}
	defer ptm.Close()
	c.Stdin, c.Stdout, c.Stderr = pts, pts, pts
	if c.SysProcAttr == nil {
		c.SysProcAttr = &syscall.SysProcAttr{}
	}
	// A new session cannot also join a process group.
	c.SysProcAttr.Setsid, c.SysProcAttr.Setctty, c.SysProcAttr.Ctty = true, true, 0
	c.SysProcAttr.Setpgid = false
	err = c.Start()
	// The child has its copy; ours would keep the terminal open after the
	// child exits and the output copy would never see the end.
	_ = pts.Close()
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", c.Path, err)
	}
	go func() {
		for size := range resize {
			_ = setWinsize(ptm, size)
		}
	}()
	if stdin != nil {
		go func() { _, _ = io.Copy(ptm, stdin) }()
	}
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		if stdout == nil {
			stdout = io.Discard
		}
		// Ends with EIO once every holder of the terminal has gone.
		_, _ = io.Copy(stdout, ptm)
	}()
	code, err := wait(ctx, c)
	select {
	case <-outDone:
	case <-time.After(outputGrace):
	}
	return code, err
}
