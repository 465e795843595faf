package scheduler

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type filterCase struct {
	name string
	pod  *v1.Pod
	node *NodeInfo
	want []string
}

func runFilterCases(t *testing.T, f filter, tests []filterCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f(NewPodInfo(tt.pod), tt.node)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFilterUnschedulable(t *testing.T) {
	cordoned := NewNodeInfo(mkNode("n", func(n *v1.Node) { n.Spec.Unschedulable = true }))
	runFilterCases(t, filterUnschedulable, []filterCase{
		{"schedulable node", mkPod("p"), NewNodeInfo(mkNode("n")), nil},
		{"cordoned", mkPod("p"), cordoned, []string{reasonUnschedulable}},
		{"cordoned but tolerated", mkPod("p", func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: taintUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}
		}), cordoned, nil},
	})
}

func TestFilterNodeName(t *testing.T) {
	n := NewNodeInfo(mkNode("n1"))
	runFilterCases(t, filterNodeName, []filterCase{
		{"no name", mkPod("p"), n, nil},
		{"same name", mkPod("p", func(p *v1.Pod) { p.Spec.NodeName = "n1" }), n, nil},
		{"other name", mkPod("p", func(p *v1.Pod) { p.Spec.NodeName = "n2" }), n, []string{reasonNodeName}},
	})
}

func TestFilterTaints(t *testing.T) {
	noSched := v1.Taint{Key: "k", Value: "v", Effect: v1.TaintEffectNoSchedule}
	noExec := v1.Taint{Key: "e", Value: "", Effect: v1.TaintEffectNoExecute}
	prefer := v1.Taint{Key: "soft", Value: "x", Effect: v1.TaintEffectPreferNoSchedule}
	tol := func(ts ...v1.Toleration) func(*v1.Pod) { return func(p *v1.Pod) { p.Spec.Tolerations = ts } }
	notReady := func(s v1.ConditionStatus) func(*v1.Node) {
		return func(n *v1.Node) { n.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: s}} }
	}
	runFilterCases(t, filterTaints, []filterCase{
		{"untainted", mkPod("p"), NewNodeInfo(mkNode("n")), nil},
		{"NoSchedule untolerated", mkPod("p"), NewNodeInfo(mkNode("n", taints(noSched))), []string{"node(s) had untolerated taint {k: v}"}},
		{"NoSchedule tolerated Equal", mkPod("p", tol(v1.Toleration{Key: "k", Operator: v1.TolerationOpEqual, Value: "v", Effect: v1.TaintEffectNoSchedule})),
			NewNodeInfo(mkNode("n", taints(noSched))), nil},
		{"wrong value", mkPod("p", tol(v1.Toleration{Key: "k", Value: "w"})), NewNodeInfo(mkNode("n", taints(noSched))), []string{"node(s) had untolerated taint {k: v}"}},
		{"Exists any effect", mkPod("p", tol(v1.Toleration{Key: "k", Operator: v1.TolerationOpExists})), NewNodeInfo(mkNode("n", taints(noSched))), nil},
		{"wildcard toleration", mkPod("p", tol(v1.Toleration{Operator: v1.TolerationOpExists})), NewNodeInfo(mkNode("n", taints(noSched, noExec))), nil},
		{"effect mismatch", mkPod("p", tol(v1.Toleration{Key: "k", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute})),
			NewNodeInfo(mkNode("n", taints(noSched))), []string{"node(s) had untolerated taint {k: v}"}},
		{"NoExecute untolerated", mkPod("p"), NewNodeInfo(mkNode("n", taints(noExec))), []string{"node(s) had untolerated taint {e: }"}},
		{"PreferNoSchedule only scores", mkPod("p"), NewNodeInfo(mkNode("n", taints(prefer))), nil},
		{"not ready", mkPod("p"), NewNodeInfo(mkNode("n", notReady(v1.ConditionFalse))), []string{"node(s) had untolerated taint {node.kubernetes.io/not-ready: }"}},
		{"ready unknown", mkPod("p"), NewNodeInfo(mkNode("n", notReady(v1.ConditionUnknown))), []string{"node(s) had untolerated taint {node.kubernetes.io/unreachable: }"}},
		{"no conditions at all", mkPod("p"), NewNodeInfo(mkNode("n", func(n *v1.Node) { n.Status.Conditions = nil })),
			[]string{"node(s) had untolerated taint {node.kubernetes.io/unreachable: }"}},
		{"not ready tolerated", mkPod("p", tol(v1.Toleration{Key: taintNotReady, Operator: v1.TolerationOpExists})),
			NewNodeInfo(mkNode("n", notReady(v1.ConditionFalse))), nil},
	})
}

func TestFilterNodeAffinity(t *testing.T) {
	n := NewNodeInfo(mkNode("n1", nodeLabels("zone", "a", "disk", "ssd", "cores", "8")))
	required := func(terms ...v1.NodeSelectorTerm) func(*v1.Pod) {
		return func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms},
			}}
		}
	}
	expr := func(key string, op v1.NodeSelectorOperator, vals ...string) v1.NodeSelectorTerm {
		return v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: key, Operator: op, Values: vals}}}
	}
	miss := []string{reasonNodeAffinity}
	runFilterCases(t, filterNodeAffinity, []filterCase{
		{"nothing asked", mkPod("p"), n, nil},
		{"nodeSelector match", mkPod("p", func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), n, nil},
		{"nodeSelector miss", mkPod("p", func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "hdd"} }), n, miss},
		{"In", mkPod("p", required(expr("zone", v1.NodeSelectorOpIn, "a", "b"))), n, nil},
		{"In miss", mkPod("p", required(expr("zone", v1.NodeSelectorOpIn, "b"))), n, miss},
		{"NotIn", mkPod("p", required(expr("zone", v1.NodeSelectorOpNotIn, "b"))), n, nil},
		{"NotIn miss", mkPod("p", required(expr("zone", v1.NodeSelectorOpNotIn, "a"))), n, miss},
		{"Exists", mkPod("p", required(expr("disk", v1.NodeSelectorOpExists))), n, nil},
		{"DoesNotExist miss", mkPod("p", required(expr("disk", v1.NodeSelectorOpDoesNotExist))), n, miss},
		{"DoesNotExist", mkPod("p", required(expr("gpu", v1.NodeSelectorOpDoesNotExist))), n, nil},
		{"Gt", mkPod("p", required(expr("cores", v1.NodeSelectorOpGt, "4"))), n, nil},
		{"Gt miss", mkPod("p", required(expr("cores", v1.NodeSelectorOpGt, "8"))), n, miss},
		{"Lt", mkPod("p", required(expr("cores", v1.NodeSelectorOpLt, "9"))), n, nil},
		{"Lt miss", mkPod("p", required(expr("cores", v1.NodeSelectorOpLt, "8"))), n, miss},
		{"terms are ORed", mkPod("p", required(expr("zone", v1.NodeSelectorOpIn, "b"), expr("disk", v1.NodeSelectorOpIn, "ssd"))), n, nil},
		{"expressions are ANDed", mkPod("p", required(v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{
			{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{"a"}},
			{Key: "disk", Operator: v1.NodeSelectorOpIn, Values: []string{"hdd"}},
		}})), n, miss},
		{"matchFields metadata.name", mkPod("p", required(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{"n1"}}}})), n, nil},
		{"matchFields miss", mkPod("p", required(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{"n2"}}}})), n, miss},
		{"selector and affinity both apply", mkPod("p", required(expr("zone", v1.NodeSelectorOpIn, "a")),
			func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "hdd"} }), n, miss},
	})
}

func TestFilterHostPorts(t *testing.T) {
	port := func(proto v1.Protocol, ip string, hp int32) func(*v1.Pod) {
		return func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{ContainerPort: 80, HostPort: hp, HostIP: ip, Protocol: proto})
		}
	}
	onNode := func(pods ...*v1.Pod) *NodeInfo { return NewNodeInfo(mkNode("n"), infos(pods...)...) }
	taken := onNode(mkPod("a", port(v1.ProtocolTCP, "", 8080)), mkPod("b", port(v1.ProtocolUDP, "127.0.0.2", 53)))
	miss := []string{reasonHostPorts}
	runFilterCases(t, filterHostPorts, []filterCase{
		{"no ports", mkPod("p"), taken, nil},
		{"container port only", mkPod("p", port(v1.ProtocolTCP, "", 0)), taken, nil},
		{"free port", mkPod("p", port(v1.ProtocolTCP, "", 9090)), taken, nil},
		{"same port wildcard", mkPod("p", port(v1.ProtocolTCP, "", 8080)), taken, miss},
		{"same port specific IP vs wildcard", mkPod("p", port(v1.ProtocolTCP, "127.0.0.3", 8080)), taken, miss},
		{"other protocol", mkPod("p", port(v1.ProtocolUDP, "", 8080)), taken, nil},
		{"other IP", mkPod("p", port(v1.ProtocolUDP, "127.0.0.3", 53)), taken, nil},
		{"same IP", mkPod("p", port(v1.ProtocolUDP, "127.0.0.2", 53)), taken, miss},
		{"wildcard vs specific", mkPod("p", port(v1.ProtocolUDP, "", 53)), taken, miss},
	})
}

func TestFilterResources(t *testing.T) {
	node := func(alloc v1.ResourceList, pods ...*v1.Pod) *NodeInfo {
		return NewNodeInfo(mkNode("n", func(n *v1.Node) { n.Status.Allocatable = alloc }), infos(pods...)...)
	}
	std := rl("cpu", "2", "memory", "2Gi", "pods", "3", "example.com/gpu", "1")
	half := mkPod("h", requests("cpu", "1", "memory", "1Gi"))
	runFilterCases(t, filterResources, []filterCase{
		{"fits empty node", mkPod("p", requests("cpu", "2", "memory", "2Gi")), node(std), nil},
		{"fits beside pods", mkPod("p", requests("cpu", "1")), node(std, half), nil},
		{"cpu short", mkPod("p", requests("cpu", "1500m")), node(std, half), []string{"Insufficient cpu"}},
		{"cpu and memory short", mkPod("p", requests("cpu", "2", "memory", "2Gi")), node(std, half), []string{"Insufficient cpu", "Insufficient memory"}},
		{"too many pods", mkPod("p"), node(std, mkPod("a"), mkPod("b"), mkPod("c")), []string{reasonTooManyPods}},
		{"no pods allocatable", mkPod("p"), node(rl("cpu", "2")), []string{reasonTooManyPods}},
		{"request-less pod fits a full node", mkPod("p"), node(std, mkPod("x", requests("cpu", "2", "memory", "2Gi"))), nil},
		{"extended resource", mkPod("p", requests("example.com/gpu", "1")), node(std), nil},
		{"extended resource short", mkPod("p", requests("example.com/gpu", "2")), node(std), []string{"Insufficient example.com/gpu"}},
		{"extended resource unknown to node", mkPod("p", requests("example.com/fpga", "1")), node(std), []string{"Insufficient example.com/fpga"}},
		{"ephemeral storage", mkPod("p", requests("ephemeral-storage", "1Gi")), node(std), []string{"Insufficient ephemeral-storage"}},
		{"overhead counts", mkPod("p", requests("cpu", "1"), func(p *v1.Pod) { p.Spec.Overhead = rl("cpu", "1") }), node(std, half), []string{"Insufficient cpu"}},
	})
}

func antiAffinity(key string, sel map[string]string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &v1.Affinity{}
		}
		p.Spec.Affinity.PodAntiAffinity = &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, TopologyKey: key}}}
	}
}

func affinity(key string, sel map[string]string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &v1.Affinity{}
		}
		p.Spec.Affinity.PodAffinity = &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, TopologyKey: key}}}
	}
}

func TestFilterInterPod(t *testing.T) {
	const host = "kubernetes.io/hostname"
	web := map[string]string{"app": "web"}
	cluster := func(pods map[string][]*v1.Pod) []*NodeInfo {
		var out []*NodeInfo
		for _, name := range []string{"a", "b", "c"} {
			zone := "z1"
			if name == "c" {
				zone = "z2"
			}
			out = append(out, NewNodeInfo(mkNode(name, nodeLabels("zone", zone)), infos(pods[name]...)...))
		}
		return out
	}
	tests := []struct {
		name  string
		pod   *v1.Pod
		nodes []*NodeInfo
		want  map[string][]string // node → reasons; absent: fits
	}{
		{"no terms anywhere", mkPod("p"), cluster(nil), nil},
		{"anti-affinity on hostname", mkPod("p", podLabels("app", "web"), antiAffinity(host, web)),
			cluster(map[string][]*v1.Pod{"a": {mkPod("w", podLabels("app", "web"))}}),
			map[string][]string{"a": {reasonAntiAffinity}}},
		{"anti-affinity other namespace does not count", mkPod("p", antiAffinity(host, web)),
			cluster(map[string][]*v1.Pod{"a": {mkPod("w", podLabels("app", "web"), func(p *v1.Pod) { p.Namespace = "other" })}}), nil},
		{"anti-affinity on zone", mkPod("p", antiAffinity("zone", web)),
			cluster(map[string][]*v1.Pod{"a": {mkPod("w", podLabels("app", "web"))}}),
			map[string][]string{"a": {reasonAntiAffinity}, "b": {reasonAntiAffinity}}},
		{"existing pod's anti-affinity", mkPod("p", podLabels("app", "web")),
			cluster(map[string][]*v1.Pod{"b": {mkPod("w", antiAffinity(host, web))}}),
			map[string][]string{"b": {reasonExistingAntiAffin}}},
		{"existing anti-affinity not matching", mkPod("p", podLabels("app", "db")),
			cluster(map[string][]*v1.Pod{"b": {mkPod("w", antiAffinity(host, web))}}), nil},
		{"affinity to a pod's node", mkPod("p", affinity(host, web)),
			cluster(map[string][]*v1.Pod{"c": {mkPod("w", podLabels("app", "web"))}}),
			map[string][]string{"a": {reasonAffinity}, "b": {reasonAffinity}}},
		{"affinity by zone", mkPod("p", affinity("zone", web)),
			cluster(map[string][]*v1.Pod{"a": {mkPod("w", podLabels("app", "web"))}}),
			map[string][]string{"c": {reasonAffinity}}},
		{"affinity with no match anywhere", mkPod("p", affinity(host, web)), cluster(nil),
			map[string][]string{"a": {reasonAffinity}, "b": {reasonAffinity}, "c": {reasonAffinity}}},
		{"first pod of a self-affine group", mkPod("p", podLabels("app", "web"), affinity(host, web)), cluster(nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPodInfo(tt.pod)
			s := newInterPodState(p, tt.nodes)
			for _, n := range tt.nodes {
				if got := s.filter(p, n); !slices.Equal(got, tt.want[n.Name()]) {
					t.Errorf("node %s: got %q, want %q", n.Name(), got, tt.want[n.Name()])
				}
			}
		})
	}
}
