package scheduler

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
)

// task is a side effect of one decision: bind pod to node, or (node
// empty) record why it fits nowhere.
type task struct {
	pod           *v1.Pod
	node          string
	unschedulable string
}

func (s *Scheduler) runTask(ctx context.Context, rec record.EventRecorder, t task) {
	if t.node != "" {
		s.bind(ctx, rec, t.pod, t.node)
		return
	}
	if err := s.markUnschedulable(ctx, t.pod, t.unschedulable); err != nil && ctx.Err() == nil {
		s.log.Warn("set PodScheduled=False", "pod", key(t.pod), "err", err)
	}
	rec.Event(t.pod, v1.EventTypeWarning, "FailedScheduling", t.unschedulable)
}

func key(pod *v1.Pod) string { return pod.Namespace + "/" + pod.Name }

// bind posts the pods/binding subresource. The API server sets
// spec.nodeName and PodScheduled=True; the informer then confirms the
// assumed pod. On failure the assumption is dropped and the pod, if it
// still waits, backs off and is decided again.
func (s *Scheduler) bind(ctx context.Context, rec record.EventRecorder, pod *v1.Pod, node string) {
	b := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: node},
	}
	err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
	if err == nil {
		s.log.Debug("pod bound", "pod", key(pod), "node", node)
		rec.Eventf(pod, v1.EventTypeNormal, "Scheduled", "Successfully assigned %s to %s", key(pod), node)
		return
	}
	s.cache.forget(pod.UID)
	if ctx.Err() != nil {
		return
	}
	s.log.Info("binding failed", "pod", key(pod), "node", node, "err", err)
	cur, gerr := s.pods.Pods(pod.Namespace).Get(pod.Name)
	if gerr != nil || cur.UID != pod.UID || !s.responsible(cur) {
		return // gone, replaced or bound by someone else: nothing to retry
	}
	s.queue.addBackoff(cur)
	rec.Eventf(pod, v1.EventTypeWarning, "FailedScheduling", "Binding rejected: %v", err)
}

// markUnschedulable sets PodScheduled=False, reason Unschedulable, with
// the scheduler's message, unless the pod already says so. It reads the
// pod from the informer first and from the API after a conflict.
func (s *Scheduler) markUnschedulable(ctx context.Context, pod *v1.Pod, msg string) error {
	fresh := false
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cur *v1.Pod
		var err error
		if fresh {
			cur, err = s.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		} else {
			cur, err = s.pods.Pods(pod.Namespace).Get(pod.Name)
		}
		fresh = true
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get pod %s: %w", key(pod), err)
		}
		if cur.UID != pod.UID || cur.Spec.NodeName != "" || cur.DeletionTimestamp != nil {
			return nil
		}
		cond := v1.PodCondition{
			Type:    v1.PodScheduled,
			Status:  v1.ConditionFalse,
			Reason:  v1.PodReasonUnschedulable,
			Message: msg,
		}
		if hasCondition(cur.Status, cond) {
			return nil
		}
		cur = cur.DeepCopy() // the informer's copy is shared
		setCondition(&cur.Status, cond, metav1.Now())
		if _, err := s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		return nil
	})
}

// hasCondition reports whether st already carries c (type, status,
// reason and message), so that a repeated failure writes nothing.
func hasCondition(st v1.PodStatus, c v1.PodCondition) bool {
	for _, old := range st.Conditions {
		if old.Type == c.Type {
			return old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message
		}
	}
	return false
}

// setCondition sets c on st; the transition time moves only when the
// status does.
func setCondition(st *v1.PodStatus, c v1.PodCondition, now metav1.Time) {
	for i := range st.Conditions {
		old := &st.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		c.LastTransitionTime = old.LastTransitionTime
		if old.Status != c.Status {
			c.LastTransitionTime = now
		}
		*old = c
		return
	}
	c.LastTransitionTime = now
	st.Conditions = append(st.Conditions, c)
}
