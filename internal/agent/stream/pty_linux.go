//go:build linux

package stream

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"k8s.io/client-go/tools/remotecommand"
)

// openPTY allocates a pseudo-terminal pair through /dev/ptmx.
func openPTY() (ptm, pts *os.File, err error) {
	ptm, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	var n int
	ctlErr := control(ptm, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return fmt.Errorf("unlock pty: %w", err)
		}
		var err error
		if n, err = unix.IoctlGetInt(fd, unix.TIOCGPTN); err != nil {
			return fmt.Errorf("pty number: %w", err)
		}
		return nil
	})
	if ctlErr != nil {
		_ = ptm.Close()
		return nil, nil, ctlErr
	}
	pts, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		_ = ptm.Close()
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	return ptm, pts, nil
}

// control runs f on f's descriptor without switching it to blocking mode
// (os.File.Fd would), so reads stay interruptible by Close.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return err
	}
	return fnErr
}

func setWinsize(ptm *os.File, size remotecommand.TerminalSize) error {
	return control(ptm, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: size.Height, Col: size.Width})
	})
}

// runTTY runs c as a session leader with the pty as its controlling
// terminal, so job control and Ctrl-C behave as in a real terminal.
func runTTY(ctx context.Context, c *exec.Cmd, stdin io.Reader, stdout io.Writer, resize <-chan remotecommand.TerminalSize) (int, error) {
	ptm, pts, err := openPTY()
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
