package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod condition reasons, as the kubelet writes them.
const (
	reasonContainersNotInitialized = "ContainersNotInitialized"
	reasonContainersNotReady       = "ContainersNotReady"
	reasonPodCompleted             = "PodCompleted"
)

// buildStatus is the pod's status from what the agent knows; terminating
// is set once the pod's containers were stopped for its deletion.
func (w *podWorker) buildStatus(pod *corev1.Pod, terminating bool, now time.Time) corev1.PodStatus {
	old := pod.Status
	st := corev1.PodStatus{
		QOSClass:              old.QOSClass,
		NominatedNodeName:     old.NominatedNodeName,
		HostIP:                w.a.cfg.HostIP,
		HostIPs:               []corev1.HostIP{{IP: w.a.cfg.HostIP}},
		Resize:                old.Resize,
		ResourceClaimStatuses: old.ResourceClaimStatuses,
	}
	if w.st.IP != "" {
		st.PodIP = w.st.IP
		st.PodIPs = []corev1.PodIP{{IP: w.st.IP}}
	}
	if !w.st.StartTime.IsZero() {
		st.StartTime = ptrTime(w.st.StartTime)
	}

	initDone := true
	var initPending []string
	initFailed := false
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := w.st.Containers[c.Name]
		s := w.containerStatus(pod, c, cs, true, initDone, now)
		st.InitContainerStatuses = append(st.InitContainerStatuses, s)
		succeeded := cs != nil && cs.Run != nil && !cs.Run.Running && cs.Run.ExitCode == 0
		if !succeeded {
			initPending = append(initPending, c.Name)
			if cs != nil && cs.Run != nil && !cs.Run.Running && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
				initFailed = true
			}
			initDone = false
		}
	}
	var unready []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := w.st.Containers[c.Name]
		s := w.containerStatus(pod, c, cs, false, initDone, now)
		st.ContainerStatuses = append(st.ContainerStatuses, s)
		if !s.Ready {
			unready = append(unready, c.Name)
		}
	}

	policy := pod.Spec.RestartPolicy
	if terminating {
		// A deleted pod whose containers were stopped ends terminal.
		policy = corev1.RestartPolicyNever
	}
	switch {
	case initFailed:
		st.Phase = corev1.PodFailed
	case !initDone:
		st.Phase = corev1.PodPending
	default:
		st.Phase = phase(st.ContainerStatuses, policy)
	}

	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
		if ok {
			c = corev1.PodCondition{Type: t, Status: corev1.ConditionTrue}
		}
		c.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
		for _, o := range old.Conditions {
			if o.Type == t && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		return c
	}
	sandbox := w.st.IP != "" && !terminating && st.Phase != corev1.PodSucceeded && st.Phase != corev1.PodFailed
	ready, readyReason, readyMsg := len(unready) == 0, reasonContainersNotReady, ""
	if !ready {
		readyMsg = fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	}
	if st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
		ready, readyReason, readyMsg = false, reasonPodCompleted, ""
	}
	initReason, initMsg := "", ""
	if !initDone {
		initReason, initMsg = reasonContainersNotInitialized, fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(initPending, " "))
	}
	if st.Phase == corev1.PodSucceeded && len(pod.Spec.InitContainers) > 0 && initDone {
		initReason = ""
	}
	podReady := ready
	var gatesMsg string
	for _, g := range pod.Spec.ReadinessGates {
		found := false
		for _, o := range old.Conditions {
			if o.Type == g.ConditionType && o.Status == corev1.ConditionTrue {
				found = true
			}
		}
		if !found {
			podReady = false
			gatesMsg = fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType)
		}
	}
	podReadyReason, podReadyMsg := readyReason, readyMsg
	if ready && !podReady {
		podReadyReason, podReadyMsg = "ReadinessGatesNotReady", gatesMsg
	}
	mine := []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, sandbox, "", ""),
		cond(corev1.PodInitialized, initDone, initReason, initMsg),
		cond(corev1.PodReady, podReady, podReadyReason, podReadyMsg),
		cond(corev1.ContainersReady, ready, readyReason, readyMsg),
	}
	// Keep the conditions others own (PodScheduled, DisruptionTarget,
	// readiness gates) where they were.
	for _, o := range old.Conditions {
		switch o.Type {
		case corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady:
		default:
			st.Conditions = append(st.Conditions, o)
		}
	}
	st.Conditions = append(st.Conditions, mine...)
	return st
}

// phase is the kubelet's getPhase for the containers once init is done.
func phase(statuses []corev1.ContainerStatus, policy corev1.RestartPolicy) corev1.PodPhase {
	var running, waiting, stopped, succeeded int
	for _, s := range statuses {
		switch {
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			stopped++
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case s.State.Waiting != nil:
			if s.LastTerminationState.Terminated != nil {
				stopped++
			} else {
				waiting++
			}
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped > 0:
		if policy == corev1.RestartPolicyAlways {
			return corev1.PodRunning
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		if policy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

func (w *podWorker) containerStatus(pod *corev1.Pod, c *corev1.Container, cs *ctrState, init, initDone bool, now time.Time) corev1.ContainerStatus {
	s := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: "", Started: ptrBool(false)}
	waitReason := reasonContainerCreating
	if !init && !initDone {
		waitReason = reasonPodInitializing
	}
	if cs == nil || cs.Run == nil {
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: waitReason}
		if cs != nil && cs.WaitReason != "" {
			s.State.Waiting = &corev1.ContainerStateWaiting{Reason: cs.WaitReason, Message: cs.WaitMessage}
		}
		return s
	}
	if cs.Path != "" {
		s.ImageID = "skiff-process://" + cs.Path
	}
	s.RestartCount = cs.RestartCount
	r := cs.Run
	if r.PID != 0 {
		s.ContainerID = fmt.Sprintf("skiff://%d", r.PID)
	}
	if cs.Last != nil {
		s.LastTerminationState.Terminated = terminated(cs.Last)
	}
	switch {
	case r.Running && cs.postStarting:
		// Not running until its postStart hook returned, as with the
		// kubelet.
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: reasonContainerCreating}
	case r.Running:
		s.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(r.StartedAt.Truncate(time.Second))}
		s.Started = ptrBool(cs.Started)
		s.Ready = cs.Ready
	case cs.WaitReason != "":
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: cs.WaitReason, Message: cs.WaitMessage}
		s.LastTerminationState.Terminated = terminated(r)
	case w.willRestart(pod, c, cs, init):
		msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", cs.BackoffDelay, c.Name, pod.Name, pod.Namespace, pod.UID)
		if !now.Before(cs.restartAt()) {
			s.State.Waiting = &corev1.ContainerStateWaiting{Reason: waitReason}
		} else {
			s.State.Waiting = &corev1.ContainerStateWaiting{Reason: reasonCrashLoopBackOff, Message: msg}
		}
		s.LastTerminationState.Terminated = terminated(r)
	default:
		s.State.Terminated = terminated(r)
	}
	return s
}

func (w *podWorker) willRestart(pod *corev1.Pod, c *corev1.Container, cs *ctrState, init bool) bool {
	if w.termSent || w.stopped || pod.DeletionTimestamp != nil {
		return false
	}
	if init {
		return cs.Run.ExitCode != 0 && pod.Spec.RestartPolicy != corev1.RestartPolicyNever
	}
	return shouldRestart(pod.Spec.RestartPolicy, cs.Run.ExitCode)
}

func terminated(r *runRecord) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{
		ExitCode:   r.ExitCode,
		Signal:     r.Signal,
		Reason:     r.Reason,
		Message:    r.Message,
		StartedAt:  metav1.NewTime(r.StartedAt.Truncate(time.Second)),
		FinishedAt: metav1.NewTime(r.FinishedAt.Truncate(time.Second)),
	}
	if r.PID != 0 {
		t.ContainerID = fmt.Sprintf("skiff://%d", r.PID)
	}
	return t
}

func ptrTime(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.Truncate(time.Second))
	return &mt
}

func ptrBool(b bool) *bool { return &b }

// writeStatus writes status through the status subresource unless the
// pod already has it.
func (w *podWorker) writeStatus(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) error {
	if apiequality.Semantic.DeepEqual(pod.Status, status) {
		return nil
	}
	pods := w.a.client.CoreV1().Pods(pod.Namespace)
	p := pod.DeepCopy()
	p.Status = status
	_, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// Our copy is stale: write the same status over the latest.
		cur, gerr := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("get pod: %w", gerr)
		}
		if cur.UID != pod.UID {
			return nil
		}
		status.Conditions = mergeForeignConditions(cur.Status.Conditions, status.Conditions)
		cur.Status = status
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("update pod status: %w", err)
	}
	return nil
}

// mergeForeignConditions keeps the conditions of cur the agent does not
// own, with the agent's own from mine.
func mergeForeignConditions(cur, mine []corev1.PodCondition) []corev1.PodCondition {
	owned := map[corev1.PodConditionType]bool{
		corev1.PodReadyToStartContainers: true, corev1.PodInitialized: true, corev1.PodReady: true, corev1.ContainersReady: true,
	}
	var out []corev1.PodCondition
	for _, c := range cur {
		if !owned[c.Type] {
			out = append(out, c)
		}
	}
	for _, c := range mine {
		if owned[c.Type] {
			out = append(out, c)
		}
	}
	return out
}
