package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Mount is a bind mount made in the process's own mount namespace before
// its program runs (root only): Source appears at Target.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// shimEnv carries a shimSpec to the re-executed binary; see init.
const shimEnv = "SKIFF_RUNTIME_MOUNT_SHIM"

// shimSpec is what the shim does before it becomes the container.
type shimSpec struct {
	Mounts []Mount  `json:"mounts"`
	Path   string   `json:"path"`
	Args   []string `json:"args"`
	Dir    string   `json:"dir"`
	// CgroupProcs are joined after mounting, before changing user.
	CgroupProcs []string `json:"cgroupProcs,omitempty"`
	// Cred is taken on after mounting, which needs root.
	Cred *shimCred `json:"cred,omitempty"`
	// Console, if set, makes the shim stay: it runs the program on a
	// pseudo-terminal and relays it (see console.go).
	Console *consoleSpec `json:"console,omitempty"`
}

type shimCred struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups"`
}

// init turns any binary that links this package into the mount shim when
// it is started with shimEnv: the agent starts /proc/self/exe that way
// in a new mount namespace (Go cannot run code between fork and exec),
// the shim makes the bind mounts and execs the container's program, so
// the pid the agent recorded is the container's.
func init() {
	v, ok := os.LookupEnv(shimEnv)
	if !ok {
		return
	}
	os.Exit(runShim(v))
}

func runShim(v string) int {
	var s shimSpec
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		fmt.Fprintln(os.Stderr, "skiff mount shim:", err)
		return 127
	}
	for _, m := range s.Mounts {
		if err := bindMount(m); err != nil {
			fmt.Fprintln(os.Stderr, "skiff mount shim:", err)
			return 127
		}
	}
	// Joined as late as possible, so that little of the shim's own memory
	// is charged to the container's group, but while still root.
	pid := []byte(strconv.Itoa(os.Getpid()))
	for _, procs := range s.CgroupProcs {
		if err := os.WriteFile(procs, pid, 0); err != nil {
			fmt.Fprintln(os.Stderr, "skiff mount shim: join cgroup:", err)
			return 127
		}
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, shimEnv+"=") {
			env = append(env, e)
		}
	}
	if s.Console != nil {
		return runConsole(&s, env)
	}
	if c := s.Cred; c != nil {
		// Groups first: after setuid the shim may no longer change them.
		groups := make([]int, len(c.Groups))
		for i, g := range c.Groups {
			groups[i] = int(g)
		}
		if err := syscall.Setgroups(groups); err != nil {
			fmt.Fprintln(os.Stderr, "skiff mount shim: setgroups:", err)
			return 127
		}
		if err := syscall.Setgid(int(c.GID)); err != nil {
			fmt.Fprintln(os.Stderr, "skiff mount shim: setgid:", err)
			return 127
		}
		if err := syscall.Setuid(int(c.UID)); err != nil {
			fmt.Fprintln(os.Stderr, "skiff mount shim: setuid:", err)
			return 127
		}
	}
	if s.Dir != "" {
		// Only now: the working directory may be under a mount.
		if err := os.Chdir(s.Dir); err != nil {
			fmt.Fprintln(os.Stderr, "skiff mount shim: working directory:", err)
			return 127
		}
	}
	err := syscall.Exec(s.Path, append([]string{s.Path}, s.Args...), env)
	fmt.Fprintf(os.Stderr, "skiff mount shim: exec %s: %v\n", s.Path, err)
	return 127
}

func bindMount(m Mount) error {
	fi, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("mount source: %w", err)
	}
	if _, err := os.Stat(m.Target); os.IsNotExist(err) {
		// The mount point must exist; like a container runtime, make it.
		if fi.IsDir() {
			err = os.MkdirAll(m.Target, 0o755)
		} else if err = os.MkdirAll(filepath.Dir(m.Target), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(m.Target, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				err = f.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("mount point %s: %w", m.Target, err)
		}
	}
	if err := syscall.Mount(m.Source, m.Target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", m.Source, m.Target, err)
	}
	if m.ReadOnly {
		if err := syscall.Mount("", m.Target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("read-only %s: %w", m.Target, err)
		}
	}
	return nil
}

// shimCmd rewrites what Start executes so that the shim makes spec's
// mounts first, in a new mount namespace, and joins its cgroups.
func shimCmd(spec *Spec, attr *syscall.SysProcAttr) (path string, args, env []string, err error) {
	// A missing program is a start error, as without the shim.
	if fi, err := os.Stat(spec.Path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", nil, nil, &os.PathError{Op: "exec", Path: spec.Path, Err: syscall.ENOEXEC}
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, nil, fmt.Errorf("mount shim: %w", err)
	}
	ss := shimSpec{Mounts: spec.Mounts, Path: spec.Path, Args: spec.Args, Dir: spec.Dir, CgroupProcs: spec.CgroupProcs}
	if spec.TTY {
		// The descriptors Start passes (see makeStdin).
		ss.Console = &consoleSpec{ResizeFD: 3}
		if spec.Stdin {
			ss.Console.StdinFD = 4
		}
	}
	if c := attr.Credential; c != nil {
		// The shim must mount as root; it changes user itself after.
		ss.Cred = &shimCred{UID: c.Uid, GID: c.Gid, Groups: c.Groups}
		attr.Credential = nil
	}
	b, err := json.Marshal(ss)
	if err != nil {
		return "", nil, nil, fmt.Errorf("mount shim: %w", err)
	}
	if len(spec.Mounts) > 0 {
		// Go makes / recursively private in the child after unsharing,
		// so the mounts never reach the host.
		attr.Unshareflags |= syscall.CLONE_NEWNS
	}
	spec.Dir = "/" // the shim changes to the real one after mounting
	return self, []string{self}, append(append([]string{}, spec.Env...), shimEnv+"="+string(b)), nil
}

// WithMounts makes cmd (not yet started) run in a new mount namespace
// with mounts made first, through the same shim as Start: for commands
// run "in" a container started with mounts (exec probes, hooks).
func WithMounts(cmd *exec.Cmd, mounts []Mount) error {
	if len(mounts) == 0 || cmd.Err != nil {
		return nil
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	var args []string
	if len(cmd.Args) > 1 {
		args = cmd.Args[1:]
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	spec := Spec{Path: cmd.Path, Args: args, Env: env, Dir: cmd.Dir, Mounts: mounts}
	path, argv, env, err := shimCmd(&spec, cmd.SysProcAttr)
	if err != nil {
		return err
	}
	cmd.Path, cmd.Args, cmd.Env, cmd.Dir = path, argv, env, spec.Dir
	return nil
}
