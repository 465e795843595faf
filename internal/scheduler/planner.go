package scheduler

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// ErrNoNodes is kube-scheduler's error when the cluster has no node.
var ErrNoNodes = errors.New("no nodes available to schedule pods")

// FitError says why a pod fits no node: per reason, how many nodes
// failed for it.
type FitError struct {
	NumAllNodes int
	Reasons     map[string]int
}

// Error renders kube-scheduler's message: "0/3 nodes are available: 1
// Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector."
// with the "count reason" strings sorted as strings, as upstream does.
func (e *FitError) Error() string {
	parts := make([]string, 0, len(e.Reasons))
	for r, n := range e.Reasons {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	msg := fmt.Sprintf("0/%d nodes are available:", e.NumAllNodes)
	if len(parts) > 0 {
		msg += " " + strings.Join(parts, ", ") + "."
	}
	return msg
}

// Schedule picks the node for a pod among nodes (a snapshot: read, never
// written). services are the selectors of the services selecting the
// pod, for spreading. It returns the node name, or a *FitError, or
// ErrNoNodes. Pure: the same inputs give the same node.
func Schedule(p *PodInfo, nodes []*NodeInfo, services []labels.Selector) (string, error) {
	if len(nodes) == 0 {
		return "", ErrNoNodes
	}
	inter := newInterPodState(p, nodes)
	filters := []filter{
		filterUnschedulable,
		filterNodeName,
		filterTaints,
		filterNodeAffinity,
		filterHostPorts,
		filterResources,
		inter.filter,
	}
	feasible := make([]*NodeInfo, 0, len(nodes))
	var fe *FitError
	for _, n := range nodes {
		reasons := runFilters(filters, p, n)
		if len(reasons) == 0 {
			feasible = append(feasible, n)
			continue
		}
		if fe == nil {
			fe = &FitError{NumAllNodes: len(nodes), Reasons: map[string]int{}}
		}
		for _, r := range reasons {
			fe.Reasons[r]++
		}
	}
	switch len(feasible) {
	case 0:
		return "", fe
	case 1:
		return feasible[0].Name(), nil
	}
	total := scoreNodes(p, feasible, defaultScorers(newSpreadState(p, services)))
	return pickBest(string(p.Pod.UID), feasible, total), nil
}

// runFilters stops at the first filter that rejects the node, as
// kube-scheduler does, so a node contributes that filter's reasons only.
func runFilters(filters []filter, p *PodInfo, n *NodeInfo) []string {
	for _, f := range filters {
		if reasons := f(p, n); len(reasons) > 0 {
			return reasons
		}
	}
	return nil
}

// scoreNodes returns the weighted total of every scorer per node.
func scoreNodes(p *PodInfo, nodes []*NodeInfo, scorers []scorer) []int64 {
	total := make([]int64, len(nodes))
	raw := make([]int64, len(nodes))
	for _, s := range scorers {
		for i, n := range nodes {
			raw[i] = s.score(p, n)
		}
		if s.normalize != nil {
			s.normalize(raw)
		}
		for i := range raw {
			total[i] += raw[i] * s.weight
		}
	}
	return total
}

// pickBest returns the node with the highest score. Ties go to the node
// with the smallest hash of (pod UID, node name): random-looking, so that
// equal pods spread over equal nodes, yet reproducible for one pod.
func pickBest(podUID string, nodes []*NodeInfo, scores []int64) string {
	best := -1
	var bestHash uint64
	for i, n := range nodes {
		if best >= 0 && scores[i] < scores[best] {
			continue
		}
		h := tieHash(podUID, n.Name())
		if best < 0 || scores[i] > scores[best] || h < bestHash {
			best, bestHash = i, h
		}
	}
	return nodes[best].Name()
}

func tieHash(podUID, node string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(podUID))
	h.Write([]byte{0})
	h.Write([]byte(node))
	return h.Sum64()
}
