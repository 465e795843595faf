package scheduler

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	toolscache "k8s.io/client-go/tools/cache"
)

// This file keeps the cache and the queue in step with the informers and
// wakes unschedulable pods when the cluster changes in a way that may
// help them: a node appears or changes, a bound pod goes away or ends.

// responsible reports whether pod waits for this scheduler.
func (s *Scheduler) responsible(pod *v1.Pod) bool {
	return pod.Spec.NodeName == "" &&
		(pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == s.opts.SchedulerName) &&
		pod.DeletionTimestamp == nil &&
		len(pod.Spec.SchedulingGates) == 0 &&
		!terminal(pod)
}

func terminal(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed
}

func (s *Scheduler) onPod(oldObj, obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	if pod.Spec.NodeName != "" {
		s.queue.delete(pod.UID)
		if terminal(pod) {
			// A finished pod holds no resources any more.
			if s.cache.removePod(pod.UID) {
				s.queue.moveAll()
			}
			return
		}
		s.cache.setPod(pod)
		if old, ok := oldObj.(*v1.Pod); ok && old.Spec.NodeName != "" && !equality.Semantic.DeepEqual(old.Labels, pod.Labels) {
			// Labels of placed pods decide inter-pod (anti-)affinity.
			s.queue.moveAll()
		}
		return
	}
	switch {
	case !s.responsible(pod):
		s.queue.delete(pod.UID)
	case s.cache.isAssumed(pod.UID):
		// Decided already; its binding is in flight.
	default:
		s.queue.update(pod)
	}
}

func (s *Scheduler) onPodDelete(obj any) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	s.queue.delete(pod.UID)
	if s.cache.removePod(pod.UID) {
		s.queue.moveAll()
	}
}

func (s *Scheduler) onNode(oldObj, obj any) {
	node, ok := obj.(*v1.Node)
	if !ok {
		return
	}
	s.cache.setNode(node)
	if old, ok := oldObj.(*v1.Node); ok && !nodeChanged(old, node) {
		return
	}
	s.queue.moveAll()
}

// nodeChanged ignores heartbeats: only what filters look at counts.
func nodeChanged(old, cur *v1.Node) bool {
	return !equality.Semantic.DeepEqual(old.Labels, cur.Labels) ||
		!equality.Semantic.DeepEqual(old.Spec.Taints, cur.Spec.Taints) ||
		old.Spec.Unschedulable != cur.Spec.Unschedulable ||
		!equality.Semantic.DeepEqual(old.Status.Allocatable, cur.Status.Allocatable) ||
		readyStatus(old) != readyStatus(cur)
}

func readyStatus(n *v1.Node) v1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status
		}
	}
	return v1.ConditionUnknown
}

func (s *Scheduler) onNodeDelete(obj any) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if node, ok := obj.(*v1.Node); ok {
		s.cache.removeNode(node.Name)
	}
}
