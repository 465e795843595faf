package podcontrol

import (
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeletionCostAnnotation lets users rank pods of one ReplicaSet for
// deletion: lower cost goes first (beta and on by default in Kubernetes).
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// IsActive reports whether a pod counts towards its owner's replicas: not
// finished and not being deleted.
func IsActive(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

// IsTerminating reports whether a pod is being deleted but has not
// finished yet (it still holds resources on its node).
func IsTerminating(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp != nil
}

// ReadyCondition returns the pod's Ready condition, or nil.
func ReadyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// IsReady reports whether the pod's Ready condition is True.
func IsReady(p *corev1.Pod) bool {
	c := ReadyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsAvailable reports whether the pod has been ready for at least
// minReadySeconds at now (Kubernetes' podutil.IsPodAvailable).
func IsAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	if !IsReady(p) {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	c := ReadyCondition(p)
	return !c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).Before(now)
}

// NextAvailableCheck returns how long after now the ready pod p becomes
// available, or 0 when it is available already or not ready at all.
func NextAvailableCheck(p *corev1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	if minReadySeconds == 0 || !IsReady(p) || IsAvailable(p, minReadySeconds, now) {
		return 0
	}
	c := ReadyCondition(p)
	if c.LastTransitionTime.IsZero() {
		return 0
	}
	return c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second).Sub(now)
}

// DeletionCost returns the pod's deletion cost annotation, 0 when absent
// or not a valid int32 (as Kubernetes treats it).
func DeletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[DeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// MaxRestarts is the highest restart count of the pod's containers.
func MaxRestarts(p *corev1.Pod) int32 {
	var m int32
	for _, c := range p.Status.ContainerStatuses {
		m = max(m, c.RestartCount)
	}
	return m
}

// Key is the namespace/name key of a pod, as informers key it.
func Key(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// ReadyTime returns when the pod became ready, zero when it is not ready.
func ReadyTime(p *corev1.Pod) metav1.Time {
	if c := ReadyCondition(p); c != nil && c.Status == corev1.ConditionTrue {
		return c.LastTransitionTime
	}
	return metav1.Time{}
}
