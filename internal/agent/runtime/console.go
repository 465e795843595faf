package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/agent/pty"
	"github.com/skiff-dev/skiff/internal/memtrim"
)

// consoleSpec is what the console shim relays besides the terminal's
// output, which goes to its own stdout (the container's stdout pipe):
// descriptors it inherits, open for reading and writing.
type consoleSpec struct {
	// StdinFD is the stdin pipe copied into the terminal (0: none).
	StdinFD int `json:"stdinFD,omitempty"`
	// ResizeFD is the pipe of terminal sizes.
	ResizeFD int `json:"resizeFD"`
}

// consoleGrace bounds how long the shim copies output after the program
// exited (a background child may hold the terminal open).
const consoleGrace = 2 * time.Second

// A TTY container needs a terminal whose master side someone holds for
// as long as the program runs, agent restarts included (a closed master
// hangs the terminal up). The console shim is that someone, as
// containerd's shim or conmon are: Start runs it (this binary, through
// the mount shim's entry point, after mounts and cgroups) as the leader
// of a new session, whose pid is the container's. It opens a
// pseudo-terminal, makes it its controlling terminal, runs the program
// on it as its child (in its process group, so signals to the group
// reach both), copies the terminal's output to its stdout (the
// container's stdout pipe, so logs and attach work unchanged), the
// stdin pipe into the terminal, applies sizes from the resize pipe, and
// exits as the program did. Its pipes are passed to it open (see
// makeStdin).
func runConsole(s *shimSpec, env []string) int {
	ptm, pts, err := pty.Open()
	if err != nil {
		fmt.Fprintln(os.Stderr, "skiff console shim:", err)
		return 127
	}
	if err := pty.Control(pts, func(fd int) error { return unix.IoctlSetInt(fd, unix.TIOCSCTTY, 0) }); err != nil {
		fmt.Fprintln(os.Stderr, "skiff console shim: controlling terminal:", err)
		return 127
	}
	// The pipes are the shim's, not the program's.
	var stdin *os.File
	if fd := s.Console.StdinFD; fd > 0 {
		syscall.CloseOnExec(fd)
		stdin = os.NewFile(uintptr(fd), "stdin")
	}
	syscall.CloseOnExec(s.Console.ResizeFD)
	resize := os.NewFile(uintptr(s.Console.ResizeFD), "resize")
	// The signals a container gets: the shim waits for its program and
	// passes them on to it should it have left the shim's group (a shell
	// with job control does); caught, not ignored, so the program starts
	// with the default actions.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU)
	cmd := &exec.Cmd{
		Path: s.Path, Args: append([]string{s.Path}, s.Args...), Env: env, Dir: s.Dir,
		Stdin: pts, Stdout: pts, Stderr: pts,
		// Should the shim be killed (SIGKILL to the group), the program
		// goes too, even if it left the group, as a container's
		// processes die with its first one.
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	if c := s.Cred; c != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: c.Groups}
	}
	err = cmd.Start()
	// The program has its copies; ours would keep the terminal from
	// hanging up when it ends.
	pts.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff console shim: exec %s: %v\n", s.Path, err)
		return 127
	}
	if stdin != nil {
		go func() { _, _ = io.Copy(ptm, stdin) }()
	}
	go relayResizes(resize, ptm)
	go func() {
		self := syscall.Getpgrp()
		for sig := range sigs {
			if pg, err := syscall.Getpgid(cmd.Process.Pid); err == nil && pg != self {
				_ = cmd.Process.Signal(sig)
			}
		}
	}()
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		// Ends with EIO once nobody holds the terminal any more.
		_, _ = io.Copy(os.Stdout, ptm)
	}()
	// The shim lives as long as the container: give back the pages of
	// the binary that starting it mapped (see package memtrim).
	_ = memtrim.Trim()
	werr := cmd.Wait()
	select {
	case <-outDone:
	case <-time.After(consoleGrace):
	}
	var ee *exec.ExitError
	if !errors.As(werr, &ee) {
		if werr != nil {
			return 127
		}
		return 0
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return ee.ExitCode()
	}
	// Die of the same signal, so the agent sees what the program did
	// (without a core dump of the shim).
	sig := ws.Signal()
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	signal.Reset(sig)
	_ = syscall.Kill(os.Getpid(), sig)
	time.Sleep(time.Second)
	return 128 + int(sig)
}

// relayResizes applies the "COLUMNS ROWS" lines of the resize pipe.
func relayResizes(f *os.File, ptm *os.File) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var cols, rows uint16
		if _, err := fmt.Sscan(sc.Text(), &cols, &rows); err != nil {
			continue
		}
		_ = pty.SetSize(ptm, cols, rows)
	}
}
