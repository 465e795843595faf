package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNotRunning is returned by Adopt when the process is gone (or its pid
// now belongs to another process).
var ErrNotRunning = errors.New("process is not running")

// Spec is what Start runs.
type Spec struct {
	// Path is the executable; Args are argv[1:].
	Path string
	Args []string
	// Env is the whole environment ("K=V"); nothing is inherited.
	Env []string
	// Dir is the working directory.
	Dir string
	// LogPath is the log file, appended to; LogRotation when to rotate it.
	LogPath     string
	LogRotation Rotation
	// PipeDir holds the named pipes of stdout and stderr; Start creates
	// it and Adopt needs the same one.
	PipeDir string
	// Now stamps log lines (nil: time.Now).
	Now func() time.Time
	// Mounts, if any, are made in a mount namespace of the process's
	// own (needs root); see Mount.
	Mounts []Mount
	// Credential, if set, is the user, group and supplementary groups
	// the process runs as (needs root); nil runs it as the agent's user.
	Credential *syscall.Credential
	// CgroupProcs, if any, are cgroup.procs files the process writes its
	// pid to right before it execs the program (through the shim, see
	// Mount), so that the program runs in those control groups.
	CgroupProcs []string
	// Stdin gives the process a named pipe in PipeDir as its standard
	// input, written to through [Process.OpenStdin]; without it the
	// process reads /dev/null. See stdin.go.
	Stdin bool
	// StdinOnce makes that input end (EOF) for good at
	// [Process.CloseStdin]; until then it stays open, even across agent
	// restarts. Ignored with TTY, as by containerd.
	StdinOnce bool
	// TTY runs the program on a pseudo-terminal held by a console shim
	// (see console.go); stdout carries the terminal's output.
	TTY bool
}

// Exit says how a process ended.
type Exit struct {
	// Code is the exit code; 128+n for a process killed by signal n.
	Code int
	// Signal is the signal that killed it, 0 if it exited.
	Signal syscall.Signal
	// Known is false when the exit status could not be observed (an
	// adopted process is not our child).
	Known bool
	At    time.Time
}

// Process is a running (or finished) container process group.
type Process struct {
	PID int
	// StartTicks is the start time from /proc/PID/stat; with PID it
	// identifies the process across agent restarts.
	StartTicks uint64
	StartedAt  time.Time

	done     chan struct{}
	logsDone chan struct{}

	pipeDir string
	hub     *outputHub

	mu     sync.Mutex
	exit   Exit       // set before done is closed
	pipes  []*os.File // read ends of the stream pipes; closed by Detach
	pidfd  *os.File
	closed bool
}

// Subscribe returns a live copy of the output from now on; see Output.
func (p *Process) Subscribe() *Output { return p.hub.subscribe() }

// Done is closed as soon as the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// LogsDone is closed when both streams have been copied to the end (or
// the process was detached).
func (p *Process) LogsDone() <-chan struct{} { return p.logsDone }

// Exit is how the process ended; valid after Done is closed.
func (p *Process) Exit() Exit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}

// Signal sends sig to the whole process group. A group that is already
// gone is not an error.
func (p *Process) Signal(sig syscall.Signal) error {
	err := syscall.Kill(-p.PID, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", p.PID, err)
	}
	return nil
}

// Detach stops copying logs and watching the process without touching
// it, so that a later agent can Adopt it.
func (p *Process) Detach() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, f := range p.pipes {
		f.Close()
	}
	if p.pidfd != nil {
		p.pidfd.Close()
	}
	p.hub.close()
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func pipePaths(dir string) [2]string {
	return [2]string{filepath.Join(dir, Stdout), filepath.Join(dir, Stderr)}
}

// Start runs spec in a new process group.
func Start(spec Spec) (*Process, error) {
	if spec.Now == nil {
		spec.Now = time.Now
	}
	if err := os.MkdirAll(spec.PipeDir, 0o700); err != nil {
		return nil, fmt.Errorf("pipe dir: %w", err)
	}
	paths := pipePaths(spec.PipeDir)
	var childEnds []*os.File
	defer func() { closeFiles(childEnds) }()
	for _, path := range paths {
		// Read-write, blocking: the child holds a reader itself, so its
		// writes never fail while no agent reads (see the package doc).
		f, err := mkfifoRW(path)
		if err != nil {
			return nil, err
		}
		childEnds = append(childEnds, f)
	}
	stdin, console, err := makeStdin(&spec)
	if err != nil {
		return nil, err
	}
	childEnds = append(childEnds, console...)
	if stdin != nil {
		childEnds = append(childEnds, stdin)
	}
	readEnds, err := openReadEnds(paths)
	if err != nil {
		return nil, err
	}
	sink, err := openSink(spec.LogPath, spec.LogRotation, spec.Now)
	if err != nil {
		closeFiles(readEnds)
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:        spec.Path,
		Args:        append([]string{spec.Path}, spec.Args...),
		Env:         spec.Env,
		Dir:         spec.Dir,
		Stdout:      childEnds[0],
		Stderr:      childEnds[1],
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: spec.Credential},
	}
	if stdin != nil {
		cmd.Stdin = stdin
	}
	cmd.ExtraFiles = console
	if spec.TTY {
		// The console shim leads a session of its own (a terminal's
		// controlling process must), which is also a process group
		// whose id is its pid.
		cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Setsid = false, true
	}
	if len(spec.Mounts) > 0 || len(spec.CgroupProcs) > 0 || spec.TTY {
		if cmd.Path, cmd.Args, cmd.Env, err = shimCmd(&spec, cmd.SysProcAttr); err != nil {
			closeFiles(readEnds)
			sink.close()
			return nil, err
		}
		cmd.Dir = spec.Dir
	}
	if err := cmd.Start(); err != nil {
		closeFiles(readEnds)
		sink.close()
		return nil, err
	}
	p := &Process{
		PID:       cmd.Process.Pid,
		StartedAt: spec.Now(),
		done:      make(chan struct{}),
		logsDone:  make(chan struct{}),
		pipes:     readEnds,
		pipeDir:   spec.PipeDir,
		hub:       newOutputHub(),
	}
	p.StartTicks, _ = startTicks(p.PID)
	go p.copyLogs(sink, readEnds)
	go func() {
		err := cmd.Wait()
		st := Exit{Known: true, At: spec.Now()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				st.Signal = ws.Signal()
				st.Code = 128 + int(ws.Signal())
			} else {
				st.Code = ee.ExitCode()
			}
		} else if err != nil {
			st.Known = false
		}
		p.finish(st)
	}()
	return p, nil
}

// finish records the exit and kills what is left of the group: a
// container's processes die with its first process.
func (p *Process) finish(st Exit) {
	syscall.Kill(-p.PID, syscall.SIGKILL)
	p.mu.Lock()
	p.exit = st
	p.mu.Unlock()
	close(p.done)
}

func openReadEnds(paths [2]string) ([]*os.File, error) {
	var fs []*os.File
	for _, path := range paths {
		// Non-blocking so that opening never waits for a writer (and
		// so that Close interrupts a read).
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			for _, f := range fs {
				f.Close()
			}
			return nil, fmt.Errorf("open pipe: %w", err)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func (p *Process) copyLogs(sink *logSink, readEnds []*os.File) {
	var wg sync.WaitGroup
	for i, f := range readEnds {
		stream := Stdout
		if i == 1 {
			stream = Stderr
		}
		wg.Go(func() {
			copyStream(sink, p.hub, stream, f)
		})
	}
	wg.Wait()
	sink.close()
	p.hub.close()
	close(p.logsDone)
}

// Adopt re-attaches to a process group an earlier agent started: pid and
// ticks as Start reported them. It returns ErrNotRunning when the process
// is gone. spec gives the log and pipe paths of the original Start.
func Adopt(pid int, ticks uint64, startedAt time.Time, spec Spec) (*Process, error) {
	if spec.Now == nil {
		spec.Now = time.Now
	}
	got, err := startTicks(pid)
	if err != nil || got != ticks {
		return nil, ErrNotRunning
	}
	p := &Process{PID: pid, StartTicks: ticks, StartedAt: startedAt, done: make(chan struct{}), logsDone: make(chan struct{}),
		pipeDir: spec.PipeDir, hub: newOutputHub()}
	if readEnds, err := openReadEnds(pipePaths(spec.PipeDir)); err == nil {
		if sink, err := openSink(spec.LogPath, spec.LogRotation, spec.Now); err == nil {
			p.pipes = readEnds
			go p.copyLogs(sink, readEnds)
		} else {
			closeFiles(readEnds)
			p.hub.close()
			close(p.logsDone)
		}
	} else {
		p.hub.close()
		close(p.logsDone)
	}
	fd, err := unix.PidfdOpen(pid, unix.O_NONBLOCK)
	if err != nil {
		// No pidfd (old kernel): poll /proc, for adopted processes only.
		go p.pollProc(ticks, spec.Now)
		return p, nil
	}
	p.pidfd = os.NewFile(uintptr(fd), "pidfd")
	go p.waitPidfd(spec.Now)
	return p, nil
}

func (p *Process) waitPidfd(now func() time.Time) {
	rc, err := p.pidfd.SyscallConn()
	if err == nil {
		calls := 0
		// A pidfd becomes readable when the process exits; the first
		// call only arms the wait.
		err = rc.Read(func(uintptr) bool {
			calls++
			return calls > 1
		})
	}
	if err != nil {
		// Detached: leave the process alone and never close done.
		return
	}
	p.pidfd.Close()
	p.finish(Exit{Known: false, At: now()})
}

func (p *Process) pollProc(ticks uint64, now func() time.Time) {
	for {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		if got, err := startTicks(p.PID); err != nil || got != ticks || zombie(p.PID) {
			p.finish(Exit{Known: false, At: now()})
			return
		}
		time.Sleep(time.Second)
	}
}

// statFields returns the fields of /proc/PID/stat after the command name
// (field 3, the state, first).
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, io.ErrUnexpectedEOF
	}
	return strings.Fields(string(b[i+1:])), nil
}

// startTicks is field 22 of /proc/PID/stat: the start time in clock ticks
// after boot, which tells a reused pid apart.
func startTicks(pid int) (uint64, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 20 {
		return 0, io.ErrUnexpectedEOF
	}
	return strconv.ParseUint(f[19], 10, 64)
}

func zombie(pid int) bool {
	f, err := statFields(pid)
	return err != nil || len(f) == 0 || f[0] == "Z" || f[0] == "X"
}

// Alive reports whether pid still runs as the process that had ticks.
func Alive(pid int, ticks uint64) bool {
	got, err := startTicks(pid)
	return err == nil && got == ticks && !zombie(pid)
}
