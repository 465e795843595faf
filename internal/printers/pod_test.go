package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Minute)}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, exit, signal int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: exit, Signal: signal}}
}

func lastTerminated(d time.Duration) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1, FinishedAt: ago(d)}}
}

func containers(names ...string) []corev1.Container {
	out := make([]corev1.Container, len(names))
	for i, n := range names {
		out[i] = corev1.Container{Name: n, Image: n + ":1"}
	}
	return out
}

func sidecar(name string) corev1.Container {
	always := corev1.ContainerRestartPolicyAlways
	return corev1.Container{Name: name, RestartPolicy: &always}
}

func cond(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

func TestPodCells(t *testing.T) {
	deleted := ago(10 * time.Second)
	yes := true
	tests := []struct {
		name   string
		spec   corev1.PodSpec
		status corev1.PodStatus
		meta   func(*metav1.ObjectMeta)
		// ready, status, restarts
		want [3]string
	}{
		{
			name: "running, one of two ready",
			spec: corev1.PodSpec{Containers: containers("a", "b")},
			status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "a", Ready: true, State: running()},
				{Name: "b", Ready: false, State: running()},
			}},
			want: [3]string{"1/2", "Running", "0"},
		},
		{
			name: "crash loop with last restart time",
			spec: corev1.PodSpec{Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", RestartCount: 3, State: waiting("CrashLoopBackOff"), LastTerminationState: lastTerminated(42 * time.Second)},
			}},
			want: [3]string{"0/1", "CrashLoopBackOff", "3 (42s ago)"},
		},
		{
			name: "restarts without a termination time",
			spec: corev1.PodSpec{Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", RestartCount: 2, Ready: true, State: running()},
			}},
			want: [3]string{"1/1", "Running", "2"},
		},
		{
			name: "pending, container creating",
			spec: corev1.PodSpec{Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", State: waiting("ContainerCreating")},
			}},
			want: [3]string{"0/1", "ContainerCreating", "0"},
		},
		{
			name:   "pending, no statuses yet",
			spec:   corev1.PodSpec{Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending},
			want:   [3]string{"0/1", "Pending", "0"},
		},
		{
			name: "scheduling gated",
			spec: corev1.PodSpec{Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated},
			}},
			want: [3]string{"0/1", "SchedulingGated", "0"},
		},
		{
			name: "second of two init containers running",
			spec: corev1.PodSpec{InitContainers: containers("init1", "init2"), Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{
					{Name: "init1", State: terminated("Completed", 0, 0)},
					{Name: "init2", State: running()},
				},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}},
			},
			want: [3]string{"0/1", "Init:1/2", "0"},
		},
		{
			name: "init container crash looping counts init restarts",
			spec: corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{
					{Name: "init", RestartCount: 4, State: waiting("CrashLoopBackOff"), LastTerminationState: lastTerminated(10 * time.Second)},
				},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}},
			},
			want: [3]string{"0/1", "Init:CrashLoopBackOff", "4 (10s ago)"},
		},
		{
			name: "init container failed with reason",
			spec: corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "init", State: terminated("Error", 1, 0)},
			}},
			want: [3]string{"0/1", "Init:Error", "0"},
		},
		{
			name: "init container failed by exit code",
			spec: corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "init", State: terminated("", 3, 0)},
			}},
			want: [3]string{"0/1", "Init:ExitCode:3", "0"},
		},
		{
			name: "init container killed by signal",
			spec: corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "init", State: terminated("", 137, 9)},
			}},
			want: [3]string{"0/1", "Init:Signal:9", "0"},
		},
		{
			name: "init waiting on PodInitializing shows progress",
			spec: corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "init", State: waiting("PodInitializing")},
			}},
			want: [3]string{"0/1", "Init:0/1", "0"},
		},
		{
			name: "init done, app waiting on PodInitializing",
			spec: corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", RestartCount: 1, State: terminated("Completed", 0, 0), LastTerminationState: lastTerminated(time.Minute)}},
				ContainerStatuses:     []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}},
			},
			// Restarts of finished init containers no longer count.
			want: [3]string{"0/1", "PodInitializing", "0"},
		},
		{
			name: "started sidecar counts as ready container and restart",
			spec: corev1.PodSpec{InitContainers: []corev1.Container{sidecar("proxy")}, Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions: []corev1.PodCondition{cond(corev1.PodInitialized, corev1.ConditionTrue), cond(corev1.PodReady, corev1.ConditionTrue)},
				InitContainerStatuses: []corev1.ContainerStatus{
					{Name: "proxy", Started: &yes, Ready: true, RestartCount: 1, State: running(), LastTerminationState: lastTerminated(90 * time.Second)},
				},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, State: running()}},
			},
			want: [3]string{"2/2", "Running", "1 (90s ago)"},
		},
		{
			name: "sidecar not started yet blocks init",
			spec: corev1.PodSpec{InitContainers: []corev1.Container{sidecar("proxy")}, Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "proxy", State: running()}},
			},
			want: [3]string{"0/2", "Init:0/1", "0"},
		},
		{
			name: "completed container next to running one, pod ready",
			spec: corev1.PodSpec{Containers: containers("job", "web")},
			status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions: []corev1.PodCondition{cond(corev1.PodReady, corev1.ConditionTrue)},
				ContainerStatuses: []corev1.ContainerStatus{
					{Name: "job", State: terminated("Completed", 0, 0)},
					{Name: "web", Ready: true, State: running()},
				},
			},
			want: [3]string{"1/2", "Running", "0"},
		},
		{
			name: "completed container next to running one, pod not ready",
			spec: corev1.PodSpec{Containers: containers("job", "web")},
			status: corev1.PodStatus{Phase: corev1.PodRunning,
				ContainerStatuses: []corev1.ContainerStatus{
					{Name: "job", State: terminated("Completed", 0, 0)},
					{Name: "web", Ready: true, State: running()},
				},
			},
			want: [3]string{"1/2", "NotReady", "0"},
		},
		{
			name: "succeeded",
			spec: corev1.PodSpec{Containers: containers("job")},
			status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "job", State: terminated("Completed", 0, 0)},
			}},
			want: [3]string{"0/1", "Completed", "0"},
		},
		{
			name: "failed with Error",
			spec: corev1.PodSpec{Containers: containers("job")},
			status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "job", State: terminated("Error", 1, 0)},
			}},
			want: [3]string{"0/1", "Error", "0"},
		},
		{
			name: "terminated by exit code",
			spec: corev1.PodSpec{Containers: containers("job")},
			status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "job", State: terminated("", 2, 0)},
			}},
			want: [3]string{"0/1", "ExitCode:2", "0"},
		},
		{
			name: "terminated by signal",
			spec: corev1.PodSpec{Containers: containers("job")},
			status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "job", State: terminated("", 143, 15)},
			}},
			want: [3]string{"0/1", "Signal:15", "0"},
		},
		{
			name:   "evicted shows status reason",
			spec:   corev1.PodSpec{Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted"},
			want:   [3]string{"0/1", "Evicted", "0"},
		},
		{
			name: "terminating",
			spec: corev1.PodSpec{Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", Ready: true, State: running()},
			}},
			meta: func(m *metav1.ObjectMeta) { m.DeletionTimestamp = &deleted },
			want: [3]string{"1/1", "Terminating", "0"},
		},
		{
			name: "deleted but already succeeded stays Completed",
			spec: corev1.PodSpec{Containers: containers("job")},
			status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "job", State: terminated("Completed", 0, 0)},
			}},
			meta: func(m *metav1.ObjectMeta) { m.DeletionTimestamp = &deleted },
			want: [3]string{"0/1", "Completed", "0"},
		},
		{
			name:   "deleted on a lost node is Unknown",
			spec:   corev1.PodSpec{Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost"},
			meta:   func(m *metav1.ObjectMeta) { m.DeletionTimestamp = &deleted },
			want:   [3]string{"0/1", "Unknown", "0"},
		},
		{
			name:   "lost node without deletion keeps NodeLost",
			spec:   corev1.PodSpec{Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost"},
			want:   [3]string{"0/1", "NodeLost", "0"},
		},
		{
			name: "status for an unknown init container does not panic",
			spec: corev1.PodSpec{Containers: containers("app")},
			status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "ghost", State: running()},
			}},
			want: [3]string{"0/1", "Init:0/0", "0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", CreationTimestamp: created},
				Spec:       tt.spec,
				Status:     tt.status,
			}
			if tt.meta != nil {
				tt.meta(&pod.ObjectMeta)
			}
			checkCells(t, schema.GroupResource{Resource: "pods"}, pod, []interface{}{
				"p", tt.want[0], tt.want[1], tt.want[2], "5m", "<none>", "<none>", "<none>", "<none>",
			})
		})
	}
}

func TestPodWideCells(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", CreationTimestamp: ago(3 * time.Hour)},
		Spec: corev1.PodSpec{
			NodeName:   "node-a",
			Containers: containers("web"),
			ReadinessGates: []corev1.PodReadinessGate{
				{ConditionType: "example.com/lb"},
				{ConditionType: "example.com/dns"},
			},
		},
		Status: corev1.PodStatus{
			Phase:             corev1.PodRunning,
			PodIP:             "10.244.0.9",
			PodIPs:            []corev1.PodIP{{IP: "10.244.0.9"}, {IP: "fd00::9"}},
			NominatedNodeName: "node-b",
			Conditions: []corev1.PodCondition{
				{Type: "example.com/lb", Status: corev1.ConditionTrue},
				{Type: "example.com/dns", Status: corev1.ConditionFalse},
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: true, State: running()}},
		},
	}
	checkCells(t, schema.GroupResource{Resource: "pods"}, pod, []interface{}{
		"web-0", "1/1", "Running", "0", "3h", "10.244.0.9", "node-a", "node-b", "1/2",
	})

	// Only the singular podIP set: fall back to it.
	pod.Status.PodIPs = nil
	cells := mustCells(t, schema.GroupResource{Resource: "pods"}, pod)
	if cells[5] != "10.244.0.9" {
		t.Errorf("IP from status.podIP = %v", cells[5])
	}
}
