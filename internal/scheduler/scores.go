package scheduler

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// maxNodeScore is the top of every normalized score, as in kube-scheduler.
const maxNodeScore = 100

// scorer ranks feasible nodes for a pod: raw scores node by node, then
// normalize maps them, across all feasible nodes, onto 0..maxNodeScore.
// The weighted sum of all scorers picks the node.
type scorer struct {
	name      string
	weight    int64
	score     func(p *PodInfo, n *NodeInfo) int64
	normalize func(scores []int64)
}

// Weights follow kube-scheduler's default profile: taints 3, node
// affinity 2, spreading 2 (PodTopologySpread's default constraints),
// least allocated 1, balanced allocation 1.
func defaultScorers(spread *spreadState) []scorer {
	return []scorer{
		{name: "TaintToleration", weight: 3, score: scoreTaints, normalize: normalizeReverse},
		{name: "NodeAffinity", weight: 2, score: scoreNodeAffinity, normalize: normalizeMax},
		{name: "Spread", weight: 2, score: spread.score, normalize: normalizeReverse},
		{name: "LeastAllocated", weight: 1, score: scoreLeastAllocated},
		{name: "BalancedAllocation", weight: 1, score: scoreBalancedAllocation},
	}
}

// scoreLeastAllocated favours nodes with the most free cpu and memory
// after placing the pod: mean over both of free/allocatable × 100.
func scoreLeastAllocated(p *PodInfo, n *NodeInfo) int64 {
	cpu := leastAllocated(n.NonZeroRequested.MilliCPU+p.NonZero.MilliCPU, n.Allocatable.MilliCPU)
	mem := leastAllocated(n.NonZeroRequested.Memory+p.NonZero.Memory, n.Allocatable.Memory)
	return (cpu + mem) / 2
}

func leastAllocated(requested, allocatable int64) int64 {
	if allocatable == 0 || requested > allocatable {
		return 0
	}
	return (allocatable - requested) * maxNodeScore / allocatable
}

// scoreBalancedAllocation favours nodes where cpu and memory would be
// used in the same proportion: (1 − standard deviation of the two
// fractions) × 100.
func scoreBalancedAllocation(p *PodInfo, n *NodeInfo) int64 {
	frac := func(req, alloc int64) float64 {
		if alloc == 0 {
			return 1
		}
		return min(float64(req)/float64(alloc), 1)
	}
	cpu := frac(n.NonZeroRequested.MilliCPU+p.NonZero.MilliCPU, n.Allocatable.MilliCPU)
	mem := frac(n.NonZeroRequested.Memory+p.NonZero.Memory, n.Allocatable.Memory)
	d := cpu - mem
	if d < 0 {
		d = -d
	}
	return int64((1 - d/2) * maxNodeScore)
}

// scoreTaints counts the PreferNoSchedule taints the pod does not
// tolerate; fewer is better (normalizeReverse).
func scoreTaints(p *PodInfo, n *NodeInfo) int64 {
	var count int64
	for i := range n.Node.Spec.Taints {
		t := &n.Node.Spec.Taints[i]
		if t.Effect != v1.TaintEffectPreferNoSchedule {
			continue
		}
		tolerated := false
		for j := range p.Pod.Spec.Tolerations {
			tol := &p.Pod.Spec.Tolerations[j]
			if (tol.Effect == "" || tol.Effect == v1.TaintEffectPreferNoSchedule) && tolerates([]v1.Toleration{*tol}, t) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			count++
		}
	}
	return count
}

// scoreNodeAffinity sums the weights of the preferred node affinity terms
// the node matches.
func scoreNodeAffinity(p *PodInfo, n *NodeInfo) int64 {
	if p.preferredNodeTerms == nil {
		return 0
	}
	return p.preferredNodeTerms.Score(n.Node)
}

// spreadState knows which pods count as the incoming pod's siblings: the
// pods of its controller owner and the pods of the services selecting it.
type spreadState struct {
	owner     string
	namespace string
	services  []labels.Selector
}

// newSpreadState takes the selectors of the services that select pod.
func newSpreadState(p *PodInfo, services []labels.Selector) *spreadState {
	return &spreadState{owner: string(p.Owner), namespace: p.Pod.Namespace, services: services}
}

// score counts the siblings already on the node; fewer is better, so that
// replicas spread (kube-scheduler's SelectorSpread, by owner and service).
// Without services it is O(1) per node from the owner index.
func (s *spreadState) score(p *PodInfo, n *NodeInfo) int64 {
	if len(s.services) == 0 {
		if s.owner == "" {
			return 0
		}
		return int64(n.OwnerCounts[p.Owner])
	}
	var count int64
	for _, q := range n.Pods {
		if q.Pod.Namespace != s.namespace {
			continue
		}
		if s.owner != "" && string(q.Owner) == s.owner {
			count++
			continue
		}
		set := labels.Set(q.Pod.Labels)
		for _, sel := range s.services {
			if sel.Matches(set) {
				count++
				break
			}
		}
	}
	return count
}

// normalizeMax scales so that the highest raw score becomes 100.
func normalizeMax(scores []int64) {
	var hi int64
	for _, s := range scores {
		hi = max(hi, s)
	}
	if hi == 0 {
		return
	}
	for i := range scores {
		scores[i] = scores[i] * maxNodeScore / hi
	}
}

// normalizeReverse scales so that the lowest raw score (0) becomes 100
// and the highest 0: for counts of things to avoid.
func normalizeReverse(scores []int64) {
	var hi int64
	for _, s := range scores {
		hi = max(hi, s)
	}
	for i := range scores {
		if hi == 0 {
			scores[i] = maxNodeScore
			continue
		}
		scores[i] = (hi - scores[i]) * maxNodeScore / hi
	}
}
