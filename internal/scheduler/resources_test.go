package scheduler

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestPodRequests(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	tests := []struct {
		name string
		pod  *v1.Pod
		cpu  int64
		mem  int64
	}{
		{"none", mkPod("p"), 0, 0},
		{"one container", mkPod("p", requests("cpu", "250m", "memory", "1Gi")), 250, 1 << 30},
		{"containers sum", mkPod("p", func(p *v1.Pod) {
			p.Spec.Containers = []v1.Container{
				{Name: "a", Resources: v1.ResourceRequirements{Requests: rl("cpu", "1")}},
				{Name: "b", Resources: v1.ResourceRequirements{Requests: rl("cpu", "500m", "memory", "100")}},
			}
		}), 1500, 100},
		{"init larger wins", mkPod("p", requests("cpu", "1"), func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{
				{Name: "i1", Resources: v1.ResourceRequirements{Requests: rl("cpu", "2")}},
				{Name: "i2", Resources: v1.ResourceRequirements{Requests: rl("cpu", "3", "memory", "10")}},
			}
		}), 3000, 10},
		{"init smaller loses", mkPod("p", requests("cpu", "2"), func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "i", Resources: v1.ResourceRequirements{Requests: rl("cpu", "1")}}}
		}), 2000, 0},
		{"sidecar adds and stacks under later init", mkPod("p", requests("cpu", "1"), func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{
				{Name: "side", RestartPolicy: &always, Resources: v1.ResourceRequirements{Requests: rl("cpu", "500m")}},
				{Name: "init", Resources: v1.ResourceRequirements{Requests: rl("cpu", "2")}},
			}
		}), 2500, 0},
		{"overhead added", mkPod("p", requests("cpu", "1"), func(p *v1.Pod) { p.Spec.Overhead = rl("cpu", "100m", "memory", "64") }), 1100, 64},
		{"pod-level requests replace", mkPod("p", requests("cpu", "1", "memory", "5"), func(p *v1.Pod) {
			p.Spec.Resources = &v1.ResourceRequirements{Requests: rl("cpu", "3")}
		}), 3000, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := PodRequests(tt.pod)
			if r.MilliCPU != tt.cpu || r.Memory != tt.mem {
				t.Errorf("cpu=%d mem=%d, want cpu=%d mem=%d", r.MilliCPU, r.Memory, tt.cpu, tt.mem)
			}
		})
	}
}

func TestNonZeroRequests(t *testing.T) {
	p := mkPod("p")
	nz := nonZeroRequests(p, PodRequests(p))
	if nz.MilliCPU != defaultMilliCPURequest || nz.Memory != defaultMemoryRequest {
		t.Errorf("defaults not applied: %+v", nz)
	}
	p = mkPod("p", requests("cpu", "0", "memory", "1Gi"))
	nz = nonZeroRequests(p, PodRequests(p))
	if nz.MilliCPU != 0 || nz.Memory != 1<<30 {
		t.Errorf("explicit zero cpu must stay zero: %+v", nz)
	}
}
