package agent

import (
	"errors"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/internal/agent/cgroups"
)

// CPU and memory limits are enforced with cgroups when the agent runs as
// root on a machine with the cpu and memory controllers (v1 or v2), and
// Config.DisableCgroups is not set. A container that has a CPU or memory
// limit runs in a group of its own, pod<uid>/<container>, made afresh at
// each start; containers without limits run in the agent's groups (they
// could use all of the node anyway). The kubelet's conversions apply: a
// CPU limit of m millicores is a quota of m*100 µs per 100 ms (at least
// 1 ms), the CPU request gives cpu.shares = m*1024/1000 (at least 2),
// and the memory limit is a hard limit without swap, so a container
// that outgrows it is killed by the kernel and reported as OOMKilled.

// cfsPeriodMicros is the CFS period the kubelet uses.
const cfsPeriodMicros = 100_000

func (a *Agent) setupCgroups() {
	if a.cfg.DisableCgroups {
		a.log.Info("cgroups disabled: CPU and memory limits are not enforced")
		return
	}
	m, err := cgroups.New("/sys/fs/cgroup", "/proc/self/cgroup", a.cfg.NodeName)
	if err != nil {
		if errors.Is(err, cgroups.ErrUnavailable) {
			a.log.Info("CPU and memory limits are not enforced", "reason", err.Error())
		} else {
			a.log.Warn("CPU and memory limits are not enforced", "err", err)
		}
		return
	}
	a.log.Info("CPU and memory limits are enforced with cgroups", "version", m.Version())
	a.cgroups = m
}

// cgroupLimits are c's limits for its cgroup; ok is false when c has no
// CPU or memory limit (and so needs no group).
func cgroupLimits(c *corev1.Container) (l cgroups.Limits, ok bool) {
	mem, cpu := c.Resources.Limits.Memory(), c.Resources.Limits.Cpu()
	if mem.IsZero() && cpu.IsZero() {
		return l, false
	}
	if !mem.IsZero() {
		l.MemoryBytes = mem.Value()
	}
	if !cpu.IsZero() {
		l.CPUPeriodMicros = cfsPeriodMicros
		l.CPUQuotaMicros = max(cpu.MilliValue()*cfsPeriodMicros/1000, 1000)
	}
	l.CPUShares = max(uint64(c.Resources.Requests.Cpu().MilliValue())*1024/1000, 2)
	return l, true
}

func containerGroup(uid types.UID, container string) string {
	return podGroup(uid) + "/" + container
}

func podGroup(uid types.UID) string { return "pod" + string(uid) }

// containerCgroup makes c's group for a new start and returns the
// cgroup.procs files its process joins; none when c needs no group or
// cgroups are not used.
func (a *Agent) containerCgroup(uid types.UID, c *corev1.Container) ([]string, error) {
	l, ok := cgroupLimits(c)
	if !ok || a.cgroups == nil {
		return nil, nil
	}
	g, err := a.cgroups.Create(containerGroup(uid, c.Name), l)
	if err != nil {
		return nil, err
	}
	return g.Procs(), nil
}

// oomKilled reports whether the kernel's OOM killer ended the container
// that ran (and was killed by signal; 0 if not known) in its group.
func (a *Agent) oomKilled(uid types.UID, container string, signal syscall.Signal) bool {
	if a.cgroups == nil || (signal != 0 && signal != syscall.SIGKILL) {
		return false
	}
	g, err := a.cgroups.Open(containerGroup(uid, container))
	if err != nil {
		return false
	}
	n, err := g.OOMKills()
	return err == nil && n > 0
}

// removeCgroups deletes the groups of a pod whose processes are gone.
func (a *Agent) removeCgroups(uid types.UID) error {
	if a.cgroups == nil {
		return nil
	}
	return a.cgroups.RemoveAll(podGroup(uid))
}
