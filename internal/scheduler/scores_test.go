package scheduler

import (
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

func TestScoreFunctions(t *testing.T) {
	prefer := func(keys ...string) func(*v1.Node) {
		return func(n *v1.Node) {
			for _, k := range keys {
				n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: k, Effect: v1.TaintEffectPreferNoSchedule})
			}
		}
	}
	preferred := func(w int32, key, val string) func(*v1.Pod) {
		return func(p *v1.Pod) {
			if p.Spec.Affinity == nil {
				p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{}}
			}
			na := p.Spec.Affinity.NodeAffinity
			na.PreferredDuringSchedulingIgnoredDuringExecution = append(na.PreferredDuringSchedulingIgnoredDuringExecution, v1.PreferredSchedulingTerm{
				Weight: w, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: key, Operator: v1.NodeSelectorOpIn, Values: []string{val}}}}})
		}
	}
	small := func(n *v1.Node) { n.Status.Allocatable = rl("cpu", "1", "memory", "1Gi", "pods", "10") }
	tests := []struct {
		name  string
		score func(*PodInfo, *NodeInfo) int64
		pod   *v1.Pod
		node  *NodeInfo
		want  int64
	}{
		{"least allocated empty node", scoreLeastAllocated, mkPod("p", requests("cpu", "500m", "memory", "512Mi")), NewNodeInfo(mkNode("n", small)), 50},
		{"least allocated with pods", scoreLeastAllocated, mkPod("p", requests("cpu", "250m", "memory", "256Mi")),
			NewNodeInfo(mkNode("n", small), infos(mkPod("a", requests("cpu", "250m", "memory", "256Mi")))...), 50},
		{"least allocated defaults for request-less", scoreLeastAllocated, mkPod("p"), NewNodeInfo(mkNode("n", small)), (90 + 80) / 2},
		{"least allocated overcommitted", scoreLeastAllocated, mkPod("p", requests("cpu", "2", "memory", "2Gi")), NewNodeInfo(mkNode("n", small)), 0},
		{"balanced equal fractions", scoreBalancedAllocation, mkPod("p", requests("cpu", "500m", "memory", "512Mi")), NewNodeInfo(mkNode("n", small)), 100},
		{"balanced skewed", scoreBalancedAllocation, mkPod("p", requests("cpu", "1", "memory", "1")), NewNodeInfo(mkNode("n", small)), 50},
		{"taints none", scoreTaints, mkPod("p"), NewNodeInfo(mkNode("n")), 0},
		{"taints two untolerated", scoreTaints, mkPod("p"), NewNodeInfo(mkNode("n", prefer("a", "b"))), 2},
		{"taints one tolerated", scoreTaints, mkPod("p", func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "a", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectPreferNoSchedule}}
		}), NewNodeInfo(mkNode("n", prefer("a", "b"))), 1},
		{"NoSchedule toleration does not count for PreferNoSchedule", scoreTaints, mkPod("p", func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "a", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}
		}), NewNodeInfo(mkNode("n", prefer("a"))), 1},
		{"node affinity none", scoreNodeAffinity, mkPod("p"), NewNodeInfo(mkNode("n")), 0},
		{"node affinity weights sum", scoreNodeAffinity, mkPod("p", preferred(5, "zone", "a"), preferred(3, "disk", "ssd"), preferred(7, "zone", "b")),
			NewNodeInfo(mkNode("n", nodeLabels("zone", "a", "disk", "ssd"))), 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.score(NewPodInfo(tt.pod), tt.node); got != tt.want {
				t.Errorf("score %d, want %d", got, tt.want)
			}
		})
	}
}

func owned(uid string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		c := true
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", UID: types.UID(uid), Controller: &c}}
	}
}

func TestScoreSpread(t *testing.T) {
	node := NewNodeInfo(mkNode("n"), infos(
		mkPod("r1", owned("rs1"), podLabels("app", "web")),
		mkPod("r2", owned("rs1"), podLabels("app", "web")),
		mkPod("o", owned("rs2"), podLabels("app", "web")),
		mkPod("s", podLabels("svc", "x")),
		mkPod("far", podLabels("svc", "x"), func(p *v1.Pod) { p.Namespace = "elsewhere" }),
	)...)
	svc := labels.SelectorFromSet(labels.Set{"svc": "x"})
	tests := []struct {
		name     string
		pod      *v1.Pod
		services []labels.Selector
		want     int64
	}{
		{"bare pod, no services", mkPod("p"), nil, 0},
		{"same owner", mkPod("p", owned("rs1")), nil, 2},
		{"other owner", mkPod("p", owned("rs3")), nil, 0},
		{"service siblings in namespace", mkPod("p", podLabels("svc", "x")), []labels.Selector{svc}, 1},
		{"owner and service", mkPod("p", owned("rs1"), podLabels("svc", "x")), []labels.Selector{svc}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPodInfo(tt.pod)
			if got := newSpreadState(p, tt.services).score(p, node); got != tt.want {
				t.Errorf("score %d, want %d", got, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		fn   func([]int64)
		in   []int64
		want []int64
	}{
		{"max", normalizeMax, []int64{0, 5, 10}, []int64{0, 50, 100}},
		{"max all zero", normalizeMax, []int64{0, 0}, []int64{0, 0}},
		{"reverse", normalizeReverse, []int64{0, 1, 4}, []int64{100, 75, 0}},
		{"reverse all zero", normalizeReverse, []int64{0, 0}, []int64{100, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Clone(tt.in)
			tt.fn(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFitErrorMessage(t *testing.T) {
	tests := []struct {
		err  FitError
		want string
	}{
		{FitError{NumAllNodes: 3, Reasons: map[string]int{reasonNodeAffinity: 2, "Insufficient cpu": 1}},
			"0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector."},
		// Sorted as strings, as upstream does: "10 …" before "2 …".
		{FitError{NumAllNodes: 12, Reasons: map[string]int{reasonUnschedulable: 2, "Insufficient memory": 10}},
			"0/12 nodes are available: 10 Insufficient memory, 2 node(s) were unschedulable."},
		{FitError{NumAllNodes: 1, Reasons: map[string]int{"Insufficient cpu": 1, "Insufficient memory": 1}},
			"0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q\nwant %q", got, tt.want)
		}
	}
}

func TestSchedule(t *testing.T) {
	nodes := func(ns ...*v1.Node) []*NodeInfo {
		out := make([]*NodeInfo, len(ns))
		for i, n := range ns {
			out[i] = NewNodeInfo(n)
		}
		return out
	}
	t.Run("no nodes", func(t *testing.T) {
		if _, err := Schedule(NewPodInfo(mkPod("p")), nil, nil); !errors.Is(err, ErrNoNodes) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("fit error counts every node", func(t *testing.T) {
		_, err := Schedule(NewPodInfo(mkPod("p", requests("cpu", "8"), func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"x": "y"} })),
			nodes(mkNode("a"), mkNode("b", nodeLabels("x", "y")), mkNode("c", func(n *v1.Node) { n.Spec.Unschedulable = true })), nil)
		want := "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable."
		var fe *FitError
		if !errors.As(err, &fe) || err.Error() != want {
			t.Errorf("got %v\nwant %s", err, want)
		}
	})
	t.Run("prefers the emptier node", func(t *testing.T) {
		busy := NewNodeInfo(mkNode("a"), infos(mkPod("x", requests("cpu", "3", "memory", "6Gi")))...)
		got, err := Schedule(NewPodInfo(mkPod("p", requests("cpu", "100m"))), []*NodeInfo{busy, NewNodeInfo(mkNode("b"))}, nil)
		if err != nil || got != "b" {
			t.Errorf("got %q, %v", got, err)
		}
	})
	t.Run("PreferNoSchedule outweighs load", func(t *testing.T) {
		soft := NewNodeInfo(mkNode("a", taints(v1.Taint{Key: "k", Effect: v1.TaintEffectPreferNoSchedule})))
		busy := NewNodeInfo(mkNode("b"), infos(mkPod("x", requests("cpu", "2", "memory", "4Gi")))...)
		got, _ := Schedule(NewPodInfo(mkPod("p")), []*NodeInfo{soft, busy}, nil)
		if got != "b" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("preferred node affinity", func(t *testing.T) {
		p := mkPod("p", func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{{
				Weight: 10, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{"b"}}}}}}}}
		})
		got, _ := Schedule(NewPodInfo(p), nodes(mkNode("a", nodeLabels("zone", "a")), mkNode("b", nodeLabels("zone", "b")), mkNode("c")), nil)
		if got != "b" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("ties are deterministic per pod and spread across pods", func(t *testing.T) {
		ns := nodes(mkNode("a"), mkNode("b"), mkNode("c"))
		seen := map[string]bool{}
		for i := range 30 {
			p := NewPodInfo(mkPod(string(rune('a'+i%26)) + "-pod" + string(rune('0'+i/26))))
			first, _ := Schedule(p, ns, nil)
			again, _ := Schedule(p, ns, nil)
			if first != again {
				t.Fatalf("pod %s: %s then %s", p.Pod.Name, first, again)
			}
			seen[first] = true
		}
		if len(seen) != 3 {
			t.Errorf("30 equal pods used nodes %v", seen)
		}
	})
}
