package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestNodeCells(t *testing.T) {
	gr := schema.GroupResource{Resource: "nodes"}
	info := corev1.NodeSystemInfo{
		KubeletVersion: "v1.33.1", OSImage: "Debian GNU/Linux 12 (bookworm)",
		KernelVersion: "6.1.0-18-amd64", ContainerRuntimeVersion: "containerd://1.7.13",
	}
	tests := []struct {
		name   string
		labels map[string]string
		spec   corev1.NodeSpec
		status corev1.NodeStatus
		want   []interface{}
	}{
		{
			name: "not ready, cordoned, with roles",
			labels: map[string]string{
				"node-role.kubernetes.io/control-plane": "",
				"node-role.kubernetes.io/":              "",
				"kubernetes.io/role":                    "worker",
				"kubernetes.io/hostname":                "n",
			},
			spec: corev1.NodeSpec{Unschedulable: true},
			status: corev1.NodeStatus{
				Conditions: []corev1.NodeCondition{
					{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
					{Type: corev1.NodeReady, Status: corev1.ConditionFalse},
				},
				Addresses: []corev1.NodeAddress{
					{Type: corev1.NodeHostName, Address: "n"},
					{Type: corev1.NodeInternalIP, Address: "192.168.1.10"},
					{Type: corev1.NodeInternalIP, Address: "fd00::10"},
					{Type: corev1.NodeExternalIP, Address: "203.0.113.10"},
				},
				NodeInfo: info,
			},
			want: []interface{}{"n", "NotReady,SchedulingDisabled", "control-plane,worker", "5m", "v1.33.1",
				"192.168.1.10", "203.0.113.10", "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "containerd://1.7.13"},
		},
		{
			name: "ready without roles",
			status: corev1.NodeStatus{
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
				Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.11"}},
				NodeInfo:   info,
			},
			want: []interface{}{"n", "Ready", "<none>", "5m", "v1.33.1",
				"192.168.1.11", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "containerd://1.7.13"},
		},
		{
			name:   "ready condition unknown",
			status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}},
			want:   []interface{}{"n", "NotReady", "<none>", "5m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			name: "no ready condition, cordoned",
			spec: corev1.NodeSpec{Unschedulable: true},
			want: []interface{}{"n", "Unknown,SchedulingDisabled", "<none>", "5m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: tt.labels, CreationTimestamp: created},
				Spec:       tt.spec, Status: tt.status,
			}
			checkCells(t, gr, node, tt.want)
		})
	}
}

func micro(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(now.Add(-d)) }

func TestCoreEventCells(t *testing.T) {
	gr := schema.GroupResource{Resource: "events"}
	tests := []struct {
		name string
		ev   corev1.Event
		want []interface{}
	}{
		{
			name: "classic kubelet event",
			ev: corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "web-0.17a2b"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-0", FieldPath: "spec.containers{web}"},
				Reason:         "BackOff", Type: "Warning", Message: "  Back-off restarting failed container\n",
				Source:         corev1.EventSource{Component: "kubelet", Host: "node-a"},
				FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(2 * time.Minute), Count: 5,
			},
			want: []interface{}{"2m", "Warning", "BackOff", "pod/web-0", "spec.containers{web}", "kubelet, node-a",
				"Back-off restarting failed container", "10m", int64(5), "web-0.17a2b"},
		},
		{
			name: "new-API singleton event",
			ev: corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "web-0.1"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-0"},
				Reason:         "Scheduled", Type: "Normal", Message: "Successfully assigned default/web-0 to node-a",
				EventTime:           micro(30 * time.Second),
				ReportingController: "default-scheduler", ReportingInstance: "default-scheduler-node-a",
			},
			want: []interface{}{"30s", "Normal", "Scheduled", "pod/web-0", "", "default-scheduler, default-scheduler-node-a",
				"Successfully assigned default/web-0 to node-a", "30s", int64(1), "web-0.1"},
		},
		{
			name: "series",
			ev: corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "s"},
				InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-a"},
				Reason:         "Rebooted", Type: "Warning",
				EventTime: micro(5 * time.Minute), Count: 2,
				Series: &corev1.EventSeries{Count: 7, LastObservedTime: micro(20 * time.Second)},
				Source: corev1.EventSource{Component: "kubelet"},
			},
			want: []interface{}{"20s", "Warning", "Rebooted", "node/node-a", "", "kubelet", "", "5m", int64(7), "s"},
		},
		{
			name: "no times, nameless object",
			ev: corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "x"},
				InvolvedObject: corev1.ObjectReference{Kind: "Node"},
			},
			want: []interface{}{"<unknown>", "", "", "node", "", "", "", "<unknown>", int64(1), "x"},
		},
		{
			name: "first timestamp only",
			ev: corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "y"},
				InvolvedObject: corev1.ObjectReference{Kind: "ReplicaSet", Name: "web-5d4f"},
				FirstTimestamp: ago(3 * time.Hour), Count: 1,
				Source: corev1.EventSource{Host: "node-b"},
			},
			want: []interface{}{"3h", "", "", "replicaset/web-5d4f", "", ", node-b", "", "3h", int64(1), "y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			checkCells(t, gr, &ev, tt.want)
		})
	}
}

func TestEventsV1Cells(t *testing.T) {
	gr := schema.GroupResource{Group: "events.k8s.io", Resource: "events"}
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.1"},
		EventTime:           micro(time.Minute),
		ReportingController: "deployment-controller",
		Action:              "Scale",
		Reason:              "ScalingReplicaSet",
		Regarding:           corev1.ObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
		Note:                "Scaled up replica set web-5d4f to 3",
		Type:                "Normal",
	}
	checkCells(t, gr, ev, []interface{}{"60s", "Normal", "ScalingReplicaSet", "deployment/web", "",
		"deployment-controller", "Scaled up replica set web-5d4f to 3", "60s", int64(1), "web.1"})

	// Deprecated core fields and series carry through.
	old := &eventsv1.Event{
		ObjectMeta:               metav1.ObjectMeta{Name: "old"},
		Regarding:                corev1.ObjectReference{Kind: "Pod", Name: "p", FieldPath: "spec.containers{c}"},
		Reason:                   "Pulled",
		Type:                     "Normal",
		DeprecatedSource:         corev1.EventSource{Component: "kubelet", Host: "node-a"},
		DeprecatedFirstTimestamp: ago(10 * time.Minute),
		DeprecatedLastTimestamp:  ago(4 * time.Minute),
		DeprecatedCount:          3,
	}
	checkCells(t, gr, old, []interface{}{"4m", "Normal", "Pulled", "pod/p", "spec.containers{c}", "kubelet, node-a", "", "10m", int64(3), "old"})

	old.Series = &eventsv1.EventSeries{Count: 9, LastObservedTime: micro(15 * time.Second)}
	cells := mustCells(t, gr, old)
	if cells[0] != "15s" || cells[8] != int64(9) {
		t.Errorf("series: last seen %v count %v", cells[0], cells[8])
	}
}
