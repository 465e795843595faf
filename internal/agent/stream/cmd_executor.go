package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"

	"k8s.io/client-go/tools/remotecommand"
)

// outputGrace bounds how long a finished command's output may keep
// flowing; background children that inherited stdout would otherwise hold
// the session open forever.
const outputGrace = 2 * time.Second

// CmdExecutor turns a command builder into an Executor. build prepares
// the process (Path, Args, Env, Dir, SysProcAttr such as credentials) for
// cmd but does not start it and must leave Stdin/Stdout/Stderr unset;
// CmdExecutor wires the streams (through a pseudo-terminal for tty),
// applies resizes, kills the process (its whole group when it leads one)
// when the client goes away and maps
// its end to an exit code (128+signal when killed by a signal, as shells
// report it).
func CmdExecutor(build func(ctx context.Context, cmd []string) (*exec.Cmd, error)) Executor {
	return func(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) (int, error) {
		c, err := build(ctx, cmd)
		if err != nil {
			return 0, err
		}
		if c.WaitDelay == 0 {
			c.WaitDelay = outputGrace
		}
		if tty {
			return runTTY(ctx, c, stdin, stdout, resize)
		}
		return runPiped(ctx, c, stdin, stdout, stderr)
	}
}

func runPiped(ctx context.Context, c *exec.Cmd, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	c.Stdout, c.Stderr = stdout, stderr
	var in io.WriteCloser
	if stdin != nil {
		// A pipe we feed ourselves rather than c.Stdin = stdin: Wait would
		// otherwise wait for the client to close stdin even after the
		// process exited.
		var err error
		if in, err = c.StdinPipe(); err != nil {
			return 0, fmt.Errorf("stdin pipe: %w", err)
		}
	}
	if err := c.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", c.Path, err)
	}
	if in != nil {
		go func() {
			_, _ = io.Copy(in, stdin)
			_ = in.Close()
		}()
	}
	return wait(ctx, c)
}

// wait waits for the process, killing it if ctx ends first.
func wait(ctx context.Context, c *exec.Cmd) (int, error) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			kill(c)
		case <-done:
		}
	}()
	return exitCode(c.Wait())
}

// kill ends the command, and its children too when it leads its own
// process group (Setpgid, or Setsid as tty sessions do), so a shell's
// children do not outlive a client that went away.
func kill(c *exec.Cmd) {
	if a := c.SysProcAttr; a != nil && (a.Setsid || (a.Setpgid && a.Pgid == 0)) {
		if err := syscall.Kill(-c.Process.Pid, syscall.SIGKILL); err == nil {
			return
		}
	}
	_ = c.Process.Kill()
}

// exitCode maps Wait's result to a shell-style exit code.
func exitCode(err error) (int, error) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.Is(err, exec.ErrWaitDelay):
		// The process exited; some child kept its output open.
		return 0, nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	default:
		return 0, fmt.Errorf("wait: %w", err)
	}
}
