package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/memtrim"
)

// Names in a container's pipe directory besides Stdout and Stderr.
const (
	// StdinPipe is the named pipe a Stdin container reads as its standard
	// input (or, with TTY, the console shim copies into the terminal).
	StdinPipe = "stdin"
	// releasePipe tells the stdin holder to let go (StdinOnce).
	releasePipe = "stdin.release"
	// resizePipe carries terminal sizes to the console shim, one
	// "COLUMNS ROWS" line each.
	resizePipe = "resize"
)

// holderEnv turns the binary into a stdin holder (see init below).
const holderEnv = "SKIFF_RUNTIME_STDIN_HOLDER"

// ErrNoStdin is returned by OpenStdin when the process has no standard
// input to write to: it was started without Stdin, or a StdinOnce input
// was closed.
var ErrNoStdin = errors.New("the container's stdin is closed or was not opened")

// A Stdin container's input is a named pipe so that, like the output, it
// outlives the agent: each attach session opens it for writing and
// closes it at the end. Someone must hold a writer in between, or the
// program would read EOF whenever no client is attached:
//
//   - Stdin alone: the child holds its pipe open for reading and writing,
//     as its output pipes, so its input never ends (Kubernetes: "a
//     container process that reads from stdin will never receive an EOF").
//   - StdinOnce: the child reads a read-only end, and a small holder
//     process (this binary again, see init) keeps a writer open until
//     CloseStdin tells it to let go after the first session, so the
//     program then reads EOF. The holder survives agent restarts and
//     exits by itself once no process reads the pipe any more.
//   - TTY: the console shim reads the pipe (read-write, never EOF) and
//     copies it into the terminal.
//
// Every pipe has its reader from the start (the pipes are opened here and
// passed on, not opened by path by the process, which may take a while
// to get there): a session's open never fails for want of a reader, and
// what it writes waits in the pipe.
//
// makeStdin makes the pipes spec asks for. It returns the child's
// standard input (nil: /dev/null) and, with TTY, the descriptors the
// console shim inherits (resize pipe, then stdin pipe).
func makeStdin(spec *Spec) (stdin *os.File, console []*os.File, err error) {
	dir := spec.PipeDir
	if spec.TTY {
		resize, err := mkfifoRW(filepath.Join(dir, resizePipe))
		if err != nil {
			return nil, nil, err
		}
		console = []*os.File{resize}
		if spec.Stdin {
			in, err := mkfifoRW(filepath.Join(dir, StdinPipe))
			if err != nil {
				resize.Close()
				return nil, nil, err
			}
			console = append(console, in)
		}
		return nil, console, nil
	}
	if !spec.Stdin {
		return nil, nil, nil
	}
	path := filepath.Join(dir, StdinPipe)
	if !spec.StdinOnce {
		f, err := mkfifoRW(path)
		return f, nil, err
	}
	if err := mkfifo(path); err != nil {
		return nil, nil, err
	}
	release, err := mkfifoRW(filepath.Join(dir, releasePipe))
	if err != nil {
		return nil, nil, err
	}
	defer release.Close()
	// Non-blocking so that the open does not wait for a writer; the child
	// must block on reads, though.
	rfd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open stdin pipe: %w", err)
	}
	reader := os.NewFile(uintptr(rfd), path)
	if err := unix.SetNonblock(rfd, false); err != nil {
		reader.Close()
		return nil, nil, fmt.Errorf("stdin pipe: %w", err)
	}
	wfd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		reader.Close()
		return nil, nil, fmt.Errorf("open stdin pipe: %w", err)
	}
	writer := os.NewFile(uintptr(wfd), path)
	defer writer.Close()
	// The holder starts first, while our reader keeps it from exiting;
	// should the container not start, closing the reader ends it.
	if err := startHolder(writer, release); err != nil {
		reader.Close()
		return nil, nil, err
	}
	return reader, nil, nil
}

func mkfifo(path string) error {
	os.Remove(path)
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return fmt.Errorf("make pipe: %w", err)
	}
	return nil
}

// mkfifoRW makes a named pipe and opens it for reading and writing
// (which never blocks, and never reads EOF).
func mkfifoRW(path string) (*os.File, error) {
	if err := mkfifo(path); err != nil {
		return nil, err
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open pipe: %w", err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// startHolder starts the stdin holder with writer as its descriptor 3
// and the release pipe as 4.
func startHolder(writer, release *os.File) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("stdin holder: %w", err)
	}
	cmd := &exec.Cmd{
		Path:       self,
		Args:       []string{self},
		Env:        []string{holderEnv + "=1"},
		Dir:        "/",
		ExtraFiles: []*os.File{writer, release},
		// Not in the agent's group: a Ctrl-C meant for the agent must
		// not end the container's input.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("stdin holder: %w", err)
	}
	// Not waited for by the agent that started it (it may outlive us);
	// reap it when it ends while we run.
	go cmd.Wait()
	return nil
}

func init() {
	if _, ok := os.LookupEnv(holderEnv); ok {
		os.Exit(holdStdin())
	}
}

// holdStdin is the holder's main: it keeps descriptor 3 (a writer of the
// stdin pipe) open until the release pipe (4) has something to read or
// nobody reads the stdin pipe any more (the container ended), which the
// kernel reports as POLLERR on a writer.
func holdStdin() int {
	// It may wait for hours: give back the pages of the binary that
	// starting it mapped (see package memtrim).
	_ = memtrim.Trim()
	fds := []unix.PollFd{{Fd: 3}, {Fd: 4, Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || fds[0].Revents != 0 || fds[1].Revents != 0 {
			return 0
		}
	}
}

// OpenStdin opens the process's standard input for writing, for one
// attach session; the caller closes it. ErrNoStdin: there is none.
func (p *Process) OpenStdin() (io.WriteCloser, error) {
	// Non-blocking, so the open never waits and the writes are polled
	// (Close interrupts one blocked on a full pipe).
	f, err := os.OpenFile(filepath.Join(p.pipeDir, StdinPipe), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, ErrNoStdin
	case errors.Is(err, syscall.ENXIO):
		// No reader: the container is gone.
		return nil, ErrNoStdin
	case err != nil:
		return nil, fmt.Errorf("open stdin: %w", err)
	}
	return f, nil
}

// CloseStdin ends a StdinOnce input for good: once what was written is
// read, the program reads EOF. Later OpenStdin calls get ErrNoStdin. It is
// for StdinOnce inputs only (the caller knows the container's spec; an
// adopted Process does not): on any other it would end the input too.
func (p *Process) CloseStdin() error {
	if err := os.Remove(filepath.Join(p.pipeDir, StdinPipe)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("close stdin: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(p.pipeDir, releasePipe), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		// No holder (gone with the container, or none; it has had the
		// pipe open from its start): nothing holds the input open.
		return nil
	}
	defer f.Close()
	if _, err := f.Write([]byte{'x'}); err != nil {
		return fmt.Errorf("close stdin: %w", err)
	}
	return nil
}

// Resize sets the size of a TTY process's terminal (ignored for others).
func (p *Process) Resize(width, height uint16) error {
	f, err := os.OpenFile(filepath.Join(p.pipeDir, resizePipe), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%d %d\n", width, height); err != nil {
		return fmt.Errorf("resize: %w", err)
	}
	return nil
}
