package scheduler

import (
	"fmt"
	"maps"
	"slices"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
)

// Reasons a node does not fit, in kube-scheduler's words: they end up in
// FailedScheduling events and PodScheduled conditions, where users and
// tools read them.
const (
	reasonUnschedulable     = "node(s) were unschedulable"
	reasonNodeName          = "node(s) didn't match the requested node name"
	reasonNodeAffinity      = "node(s) didn't match Pod's node affinity/selector"
	reasonHostPorts         = "node(s) didn't have free ports for the requested pod ports"
	reasonTooManyPods       = "Too many pods"
	reasonAffinity          = "node(s) didn't match pod affinity rules"
	reasonAntiAffinity      = "node(s) didn't match pod anti-affinity rules"
	reasonExistingAntiAffin = "node(s) didn't satisfy existing pods anti-affinity rules"
)

// Taints kube-scheduler and the node lifecycle controller use.
const (
	taintUnschedulable = "node.kubernetes.io/unschedulable"
	taintNotReady      = "node.kubernetes.io/not-ready"
	taintUnreachable   = "node.kubernetes.io/unreachable"
)

// filter decides whether a pod fits a node: nil when it does, else the
// reasons it does not.
type filter func(p *PodInfo, n *NodeInfo) []string

// filterUnschedulable rejects cordoned nodes (spec.unschedulable) unless
// the pod tolerates the unschedulable taint, as DaemonSet pods do.
func filterUnschedulable(p *PodInfo, n *NodeInfo) []string {
	if !n.Node.Spec.Unschedulable {
		return nil
	}
	t := v1.Taint{Key: taintUnschedulable, Effect: v1.TaintEffectNoSchedule}
	if tolerates(p.Pod.Spec.Tolerations, &t) {
		return nil
	}
	return []string{reasonUnschedulable}
}

// filterNodeName keeps only the node a pod names, if it names one.
func filterNodeName(p *PodInfo, n *NodeInfo) []string {
	if p.Pod.Spec.NodeName == "" || p.Pod.Spec.NodeName == n.Node.Name {
		return nil
	}
	return []string{reasonNodeName}
}

// filterTaints rejects a node with a NoSchedule or NoExecute taint the pod
// does not tolerate. A node whose Ready condition is not True counts as
// tainted not-ready (Unknown: unreachable) with NoSchedule, as the node
// lifecycle controller would taint it: pods that tolerate that (DaemonSet
// pods) may still land there.
func filterTaints(p *PodInfo, n *NodeInfo) []string {
	for i := range n.Node.Spec.Taints {
		t := &n.Node.Spec.Taints[i]
		if t.Effect != v1.TaintEffectNoSchedule && t.Effect != v1.TaintEffectNoExecute {
			continue
		}
		if !tolerates(p.Pod.Spec.Tolerations, t) {
			return []string{untoleratedTaint(t)}
		}
	}
	if t, ok := readinessTaint(n.Node); ok && !tolerates(p.Pod.Spec.Tolerations, &t) {
		return []string{untoleratedTaint(&t)}
	}
	return nil
}

func untoleratedTaint(t *v1.Taint) string {
	return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)
}

// readinessTaint is the taint a node that is not Ready would carry, unless
// it already carries it.
func readinessTaint(node *v1.Node) (v1.Taint, bool) {
	status := v1.ConditionUnknown
	for _, c := range node.Status.Conditions {
		if c.Type == v1.NodeReady {
			status = c.Status
		}
	}
	var key string
	switch status {
	case v1.ConditionTrue:
		return v1.Taint{}, false
	case v1.ConditionFalse:
		key = taintNotReady
	default:
		key = taintUnreachable
	}
	for _, t := range node.Spec.Taints {
		if t.Key == key {
			return v1.Taint{}, false
		}
	}
	return v1.Taint{Key: key, Effect: v1.TaintEffectNoSchedule}, true
}

func tolerates(tols []v1.Toleration, t *v1.Taint) bool {
	for i := range tols {
		if tols[i].ToleratesTaint(logr.Discard(), t, true) {
			return true
		}
	}
	return false
}

// filterNodeAffinity applies nodeSelector and required node affinity
// (nodeSelectorTerms ORed, their expressions ANDed, matchFields on
// metadata.name).
func filterNodeAffinity(p *PodInfo, n *NodeInfo) []string {
	ok, err := p.requiredNodeAffinity.Match(n.Node)
	if ok && err == nil {
		return nil
	}
	return []string{reasonNodeAffinity}
}

// filterHostPorts rejects a node where a host port the pod wants is taken
// on the same protocol and an overlapping address (0.0.0.0 overlaps all).
func filterHostPorts(p *PodInfo, n *NodeInfo) []string {
	if len(p.Ports) == 0 || len(n.UsedPorts) == 0 {
		return nil
	}
	for _, want := range p.Ports {
		for used := range n.UsedPorts {
			if used.Protocol == want.Protocol && used.Port == want.Port &&
				(used.IP == want.IP || used.IP == "0.0.0.0" || want.IP == "0.0.0.0") {
				return []string{reasonHostPorts}
			}
		}
	}
	return nil
}

// filterResources checks the pod's requests against the node's
// allocatable minus what its pods request, and the pod count against
// allocatable pods. Every shortage is a reason ("Insufficient cpu").
func filterResources(p *PodInfo, n *NodeInfo) []string {
	var reasons []string
	if int64(len(n.Pods))+1 > n.Allocatable.Pods {
		reasons = append(reasons, reasonTooManyPods)
	}
	req := p.Requests
	if req.isZero() {
		return reasons
	}
	free, used := n.Allocatable, n.Requested
	if req.MilliCPU > 0 && req.MilliCPU > free.MilliCPU-used.MilliCPU {
		reasons = append(reasons, "Insufficient cpu")
	}
	if req.Memory > 0 && req.Memory > free.Memory-used.Memory {
		reasons = append(reasons, "Insufficient memory")
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > free.EphemeralStorage-used.EphemeralStorage {
		reasons = append(reasons, "Insufficient ephemeral-storage")
	}
	for _, name := range slices.Sorted(maps.Keys(req.Scalar)) {
		if q := req.Scalar[name]; q > 0 && q > free.Scalar[name]-used.Scalar[name] {
			reasons = append(reasons, "Insufficient "+string(name))
		}
	}
	return reasons
}
