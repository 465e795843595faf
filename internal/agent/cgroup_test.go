package agent_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/internal/agent/cgroups"
)

// requireCgroups skips unless the agent can enforce limits here. Called
// before setup, its cleanup runs after the agent stopped and the test's
// processes were killed: it removes the groups of the pods named by the
// returned function's calls, which no deletion removed.
func requireCgroups(t *testing.T) (track func(*corev1.Pod)) {
	t.Helper()
	m, err := cgroups.New("/sys/fs/cgroup", "/proc/self/cgroup", testNode)
	if err != nil {
		t.Skipf("limits cannot be enforced here: %v", err)
	}
	var uids []types.UID
	t.Cleanup(func() {
		for _, uid := range uids {
			if err := m.RemoveAll("pod" + string(uid)); err != nil {
				t.Error(err)
			}
		}
	})
	return func(p *corev1.Pod) { uids = append(uids, p.UID) }
}

func withLimits(p *corev1.Pod, cpu, mem string) {
	l := corev1.ResourceList{}
	if cpu != "" {
		l[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		l[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: l, Requests: l}
}

func TestMemoryLimitOOMKilled(t *testing.T) {
	track := requireCgroups(t)
	e := setup(t, nil)
	p := workloadPod(t, "hog", "alloc", corev1.EnvVar{Name: "ALLOC_MIB", Value: "256"})
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	withLimits(p, "", "48Mi")
	track(e.create(t, p))
	got := e.waitPod(t, "hog", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	term := got.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Fatalf("terminated = %+v, want OOMKilled with exit code 137", term)
	}
	if got.Status.QOSClass != corev1.PodQOSBurstable {
		t.Errorf("qosClass = %s", got.Status.QOSClass)
	}
	// Without a limit the same workload runs.
	p = workloadPod(t, "free", "alloc", corev1.EnvVar{Name: "ALLOC_MIB", Value: "64"})
	track(e.create(t, p))
	e.waitPod(t, "free", "Ready", isReady)
}

func TestCPULimitIsAQuota(t *testing.T) {
	track := requireCgroups(t)
	e := setup(t, nil)
	p := workloadPod(t, "limited", "sleep")
	withLimits(p, "250m", "64Mi")
	track(e.create(t, p))
	got := e.waitPod(t, "limited", "Ready", isReady)
	pid := pidOf(t, got.Status.ContainerStatuses[0])
	want := "/pod" + string(got.UID) + "/main"
	// The runtime's shim joins the groups right before it execs the
	// program, which may be a moment after the container counts as
	// started: wait for it.
	var cpuDir string
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if b, err = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup"); err != nil {
			t.Fatal(err)
		}
		if cpuDir = cpuGroup(b, want); cpuDir != "" || time.Now().After(deadline) {
			break
		}
	}
	if cpuDir == "" {
		t.Fatalf("container is in no cpu group ending in %s:\n%s", want, b)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if parts := strings.SplitN(line, ":", 3); parts[1] == "memory" && !strings.HasSuffix(parts[2], want) {
			t.Errorf("memory group %s, want one ending in %s", parts[2], want)
		}
	}
	quota, err := os.ReadFile(filepath.Join(cpuDir, "cpu.cfs_quota_us"))
	if os.IsNotExist(err) {
		quota, err = os.ReadFile(filepath.Join(cpuDir, "cpu.max"))
	}
	if q := strings.TrimSpace(string(quota)); err != nil || (q != "25000" && q != "25000 100000") {
		t.Errorf("quota = %q, %v; want 250m as 25000 µs per 100 ms", q, err)
	}
	// Deleting the pod removes its groups.
	e.deletePod(t, "limited")
	waitNoPath(t, cpuDir, "cgroup")
}

// cpuGroup returns the directory of the cpu group ending in want that a
// /proc/PID/cgroup file lists (v1 or v2), or "".
func cpuGroup(procCgroup []byte, want string) string {
	for _, line := range strings.Split(strings.TrimSpace(string(procCgroup)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.HasSuffix(parts[2], want) {
			continue
		}
		switch {
		case parts[1] == "": // v2
			return filepath.Join("/sys/fs/cgroup", parts[2])
		case parts[1] == "cpu" || strings.Contains(parts[1], "cpu,"):
			return filepath.Join("/sys/fs/cgroup/cpu", parts[2])
		}
	}
	return ""
}
