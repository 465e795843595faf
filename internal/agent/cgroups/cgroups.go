package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits are the cgroup settings of one container, in kernel units.
type Limits struct {
	// MemoryBytes is the memory limit; 0 means none.
	MemoryBytes int64
	// CPUQuotaMicros is the CPU time allowed per CPUPeriodMicros; 0
	// means no limit.
	CPUQuotaMicros  int64
	CPUPeriodMicros int64
	// CPUShares is the relative CPU weight in cgroup v1 units (1024 per
	// CPU requested, at least 2); 0 leaves the default.
	CPUShares uint64
}

// Manager makes and removes the groups of one node's containers.
type Manager struct {
	v2 bool
	// dirs are the directories under which groups are made: one for v2,
	// the cpu and the memory hierarchy's for v1.
	dirs []string
}

// Version is 1 or 2.
func (m *Manager) Version() int {
	if m.v2 {
		return 2
	}
	return 1
}

// ErrUnavailable says that this machine has no cgroup hierarchy skiff
// can use (not root, no cpu and memory controllers, read-only cgroupfs).
var ErrUnavailable = errors.New("cgroups are not available")

// New finds the cgroup hierarchies under mount (normally /sys/fs/cgroup)
// and prepares node's directory in them. The agent's own groups are read
// from selfCgroup (normally /proc/self/cgroup).
func New(mount, selfCgroup, node string) (*Manager, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: the agent does not run as root", ErrUnavailable)
	}
	if node == "" || strings.ContainsAny(node, "/") || node == "." || node == ".." {
		return nil, fmt.Errorf("cgroups: bad node name %q", node)
	}
	var m *Manager
	if ctrls, err := os.ReadFile(filepath.Join(mount, "cgroup.controllers")); err == nil {
		have := strings.Fields(string(ctrls))
		if !slices.Contains(have, "memory") || !slices.Contains(have, "cpu") {
			return nil, fmt.Errorf("%w: cgroup v2 without the cpu and memory controllers", ErrUnavailable)
		}
		m = &Manager{v2: true, dirs: []string{filepath.Join(mount, "skiff", node)}}
	} else {
		own, err := ownGroups(selfCgroup)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		m = &Manager{}
		for _, ctrl := range []string{"cpu", "memory"} {
			root := filepath.Join(mount, ctrl)
			if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
				return nil, fmt.Errorf("%w: no cgroup v1 %s hierarchy at %s", ErrUnavailable, ctrl, root)
			}
			m.dirs = append(m.dirs, filepath.Join(root, own[ctrl], "skiff", node))
		}
	}
	for _, d := range m.dirs {
		if err := m.mkdir(d); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	return m, nil
}

// mkdir makes dir and, for v2, enables the cpu and memory controllers on
// the way down so that the groups below can use them.
func (m *Manager) mkdir(dir string) error {
	if !m.v2 {
		return os.MkdirAll(dir, 0o755)
	}
	// dir is mount/skiff/node: enable controllers in mount and mount/skiff
	// (and in dir itself, for the container groups below it).
	parents := []string{filepath.Dir(filepath.Dir(dir)), filepath.Dir(dir), dir}
	for i, p := range parents {
		if i > 0 {
			if err := os.Mkdir(p, 0o755); err != nil && !os.IsExist(err) {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(p, "cgroup.subtree_control"), []byte("+cpu +memory"), 0); err != nil {
			return fmt.Errorf("enable cpu and memory controllers in %s: %w", p, err)
		}
	}
	return nil
}

// ownGroups parses /proc/self/cgroup (v1 lines "ID:ctrl[,ctrl]:/path")
// into the agent's group per controller.
func ownGroups(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	own := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			own[ctrl] = parts[2]
		}
	}
	if own["cpu"] == "" || own["memory"] == "" {
		return nil, fmt.Errorf("%s names no cpu and memory groups", path)
	}
	return own, sc.Err()
}

// Group is one container's cgroup (a directory per v1 hierarchy).
type Group struct {
	v2   bool
	dirs []string
}

// Procs are the cgroup.procs files a process writes its pid to to join
// the group.
func (g *Group) Procs() []string {
	procs := make([]string, len(g.dirs))
	for i, d := range g.dirs {
		procs[i] = filepath.Join(d, "cgroup.procs")
	}
	return procs
}

// Create makes (afresh, so that its OOM count starts at 0) the group
// named name — a relative path such as "pod<uid>/<container>" — with
// limits.
func (m *Manager) Create(name string, l Limits) (*Group, error) {
	g, err := m.group(name)
	if err != nil {
		return nil, err
	}
	if err := m.Remove(name); err != nil {
		return nil, err
	}
	for _, d := range g.dirs {
		if m.v2 {
			// The intermediate (pod) group must pass the controllers on.
			parent := filepath.Dir(d)
			if err := os.MkdirAll(parent, 0o755); err != nil {
				return nil, fmt.Errorf("cgroup %s: %w", parent, err)
			}
			if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+cpu +memory"), 0); err != nil {
				return nil, fmt.Errorf("cgroup %s: enable controllers: %w", parent, err)
			}
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup %s: %w", d, err)
		}
	}
	if err := g.apply(l); err != nil {
		m.Remove(name)
		return nil, err
	}
	return g, nil
}

// Open is the group name made earlier (by Create, perhaps by an earlier
// agent), for reading its OOM count.
func (m *Manager) Open(name string) (*Group, error) { return m.group(name) }

func (m *Manager) group(name string) (*Group, error) {
	clean := filepath.Clean(name)
	if name == "" || filepath.IsAbs(name) || clean != name || strings.HasPrefix(clean, "..") {
		return nil, fmt.Errorf("cgroups: bad group name %q", name)
	}
	g := &Group{v2: m.v2}
	for _, d := range m.dirs {
		g.dirs = append(g.dirs, filepath.Join(d, name))
	}
	return g, nil
}

func (g *Group) apply(l Limits) error {
	var set []setting
	if g.v2 {
		if l.MemoryBytes > 0 {
			// No swap: a container over its limit is OOM-killed, as the
			// kubelet configures it by default.
			set = append(set, setting{"memory.max", strconv.FormatInt(l.MemoryBytes, 10)},
				setting{"memory.swap.max", "0"})
		}
		if l.CPUQuotaMicros > 0 {
			set = append(set, setting{"cpu.max", fmt.Sprintf("%d %d", l.CPUQuotaMicros, l.CPUPeriodMicros)})
		}
		if l.CPUShares > 0 {
			set = append(set, setting{"cpu.weight", strconv.FormatUint(SharesToWeight(l.CPUShares), 10)})
		}
		return g.write(g.dirs[0], set)
	}
	cpu, mem := g.dirs[0], g.dirs[1]
	var cpuSet []setting
	if l.CPUQuotaMicros > 0 {
		cpuSet = append(cpuSet, setting{"cpu.cfs_period_us", strconv.FormatInt(l.CPUPeriodMicros, 10)},
			setting{"cpu.cfs_quota_us", strconv.FormatInt(l.CPUQuotaMicros, 10)})
	}
	if l.CPUShares > 0 {
		cpuSet = append(cpuSet, setting{"cpu.shares", strconv.FormatUint(l.CPUShares, 10)})
	}
	if err := g.write(cpu, cpuSet); err != nil {
		return err
	}
	if l.MemoryBytes > 0 {
		return g.write(mem, []setting{{"memory.limit_in_bytes", strconv.FormatInt(l.MemoryBytes, 10)}})
	}
	return nil
}

type setting struct{ file, value string }

func (g *Group) write(dir string, set []setting) error {
	for _, s := range set {
		path := filepath.Join(dir, s.file)
		if err := os.WriteFile(path, []byte(s.value), 0); err != nil {
			// Swap accounting may be off; that file alone is optional.
			if s.file == "memory.swap.max" && os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("cgroup: write %s: %w", path, err)
		}
	}
	return nil
}

// OOMKills is how many processes of the group the kernel's OOM killer
// has killed since the group was made.
func (g *Group) OOMKills() (uint64, error) {
	var path string
	if g.v2 {
		path = filepath.Join(g.dirs[0], "memory.events")
	} else {
		path = filepath.Join(g.dirs[1], "memory.oom_control")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("cgroup: %s has no oom_kill count", path)
}

// Remove deletes the group name (not the groups above it: see
// RemoveAll for a pod's). Its processes must have exited; the
// kernel may need a moment after the last one is reaped, so removal is
// retried briefly. A group that does not exist is not an error.
func (m *Manager) Remove(name string) error {
	g, err := m.group(name)
	if err != nil {
		return err
	}
	for _, d := range g.dirs {
		if err := rmdir(d); err != nil {
			return err
		}
	}
	return nil
}

// RemoveAll deletes the group name and every group below it (a pod's
// group and its containers').
func (m *Manager) RemoveAll(name string) error {
	g, err := m.group(name)
	if err != nil {
		return err
	}
	for _, d := range g.dirs {
		entries, err := os.ReadDir(d)
		if os.IsNotExist(err) {
			continue
		}
		for _, e := range entries {
			if e.IsDir() {
				if err := rmdir(filepath.Join(d, e.Name())); err != nil {
					return err
				}
			}
		}
		if err := rmdir(d); err != nil {
			return err
		}
	}
	return nil
}

func rmdir(dir string) error {
	var err error
	for i := 0; i < 50; i++ {
		// cgroupfs directories are removed with rmdir even though they
		// list control files.
		err = os.Remove(dir)
		if err == nil || os.IsNotExist(err) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("cgroup: remove %s: %w", dir, err)
}

// SharesToWeight converts v1 cpu.shares [2, 262144] to v2 cpu.weight
// [1, 10000] as the kubelet and runc do.
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}
