package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary re-executed with allocEnv allocates and touches that
// many MiB, then sleeps: a container that outgrows its limit.
const allocEnv = "SKIFF_CGROUPS_TEST_ALLOC_MIB"

func TestMain(m *testing.M) {
	if v := os.Getenv(allocEnv); v != "" {
		n, _ := strconv.Atoi(v)
		var keep [][]byte
		for i := 0; i < n; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		time.Sleep(time.Hour)
		_ = keep
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func newManager(t *testing.T) *Manager {
	t.Helper()
	node := "test-" + strconv.Itoa(os.Getpid())
	m, err := New("/sys/fs/cgroup", "/proc/self/cgroup", node)
	if err != nil {
		t.Skipf("no cgroups here: %v", err)
	}
	t.Cleanup(func() {
		for _, d := range m.dirs {
			entries, _ := os.ReadDir(d)
			for _, e := range entries {
				if e.IsDir() {
					m.RemoveAll(e.Name())
				}
			}
			os.Remove(d)
			os.Remove(filepath.Dir(d)) // "skiff", unless another node uses it
		}
	})
	return m
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// start runs the test binary (allocating mib MiB) and moves it into g
// the way the runtime's shim does: by writing its pid to cgroup.procs.
func start(t *testing.T, g *Group, mib int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), allocEnv+"="+strconv.Itoa(mib))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// It joins long before it allocates (the Go runtime starts first),
	// so the allocation is charged to g.
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for _, p := range g.Procs() {
		if err := os.WriteFile(p, []byte(strconv.Itoa(cmd.Process.Pid)), 0); err != nil {
			t.Fatal(err)
		}
	}
	return cmd
}

func TestLimitsAreWritten(t *testing.T) {
	m := newManager(t)
	g, err := m.Create("pod1/app", Limits{MemoryBytes: 64 << 20, CPUQuotaMicros: 50000, CPUPeriodMicros: 100000, CPUShares: 512})
	if err != nil {
		t.Fatal(err)
	}
	cmd := start(t, g, 1)
	if m.v2 {
		d := g.dirs[0]
		if got := read(t, filepath.Join(d, "memory.max")); got != "67108864" {
			t.Errorf("memory.max = %s", got)
		}
		if got := read(t, filepath.Join(d, "cpu.max")); got != "50000 100000" {
			t.Errorf("cpu.max = %s", got)
		}
		if got := read(t, filepath.Join(d, "cpu.weight")); got != "20" {
			t.Errorf("cpu.weight = %s", got)
		}
	} else {
		if got := read(t, filepath.Join(g.dirs[1], "memory.limit_in_bytes")); got != "67108864" {
			t.Errorf("memory.limit_in_bytes = %s", got)
		}
		if got := read(t, filepath.Join(g.dirs[0], "cpu.cfs_quota_us")); got != "50000" {
			t.Errorf("cpu.cfs_quota_us = %s", got)
		}
		if got := read(t, filepath.Join(g.dirs[0], "cpu.shares")); got != "512" {
			t.Errorf("cpu.shares = %s", got)
		}
	}
	// The process is listed in every hierarchy's group.
	for _, p := range g.Procs() {
		if !strings.Contains("\n"+read(t, p)+"\n", "\n"+strconv.Itoa(cmd.Process.Pid)+"\n") {
			t.Errorf("%s does not list pid %d", p, cmd.Process.Pid)
		}
	}
	if n, err := g.OOMKills(); err != nil || n != 0 {
		t.Errorf("OOMKills = %d, %v; want 0", n, err)
	}
	// A group with a process cannot go; once it exited, it can.
	cmd.Process.Kill()
	cmd.Wait()
	if err := m.RemoveAll("pod1"); err != nil {
		t.Fatal(err)
	}
	for _, d := range g.dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists (%v)", d, err)
		}
	}
}

func TestOOMKillIsCounted(t *testing.T) {
	m := newManager(t)
	g, err := m.Create("pod2/hog", Limits{MemoryBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	cmd := start(t, g, 200)
	err = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("hog ended with %v, want SIGKILL by the OOM killer", err)
	}
	if n, err := g.OOMKills(); err != nil || n == 0 {
		t.Fatalf("OOMKills = %d, %v; want ≥ 1", n, err)
	}
	// Create makes the group afresh: the count starts again at 0.
	g, err = m.Create("pod2/hog", Limits{MemoryBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := g.OOMKills(); err != nil || n != 0 {
		t.Errorf("OOMKills after Create = %d, %v; want 0", n, err)
	}
}

func TestBadNamesAreRefused(t *testing.T) {
	m := &Manager{dirs: []string{t.TempDir()}}
	for _, name := range []string{"", "/abs", "../up", "a/../../b", "a//b"} {
		if _, err := m.Create(name, Limits{}); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
}

func TestSharesToWeight(t *testing.T) {
	for _, c := range []struct{ shares, weight uint64 }{
		{0, 0}, {1, 1}, {2, 1}, {1024, 39}, {512, 20}, {262144, 10000}, {1 << 30, 10000},
	} {
		if got := SharesToWeight(c.shares); got != c.weight {
			t.Errorf("SharesToWeight(%d) = %d, want %d", c.shares, got, c.weight)
		}
	}
}
