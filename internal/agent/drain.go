package agent

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Before a deleted pod's containers get SIGTERM, the agent waits until no
// EndpointSlice lists the pod's address as ready any more, and a moment
// longer for every proxy to see that, so that no new connection is sent
// to a process that is shutting down. Kubernetes users get this only with
// a preStop sleep; skiff does it for every pod. The wait is bounded: at
// most maxDrain, and never more than half the grace period.
const (
	maxDrain = 5 * time.Second
	// propagation is the margin for proxies' informers to receive the
	// slice update the agent has seen.
	propagation = 150 * time.Millisecond
	drainPoll   = 25 * time.Millisecond
)

// drainWait returns how long to wait before stopping pod's containers,
// or 0 when they may be stopped now.
func (w *podWorker) drainWait(pod *corev1.Pod, now time.Time) time.Duration {
	if w.drainStart.IsZero() {
		w.drainStart = now
	}
	limit := min(maxDrain, gracePeriod(pod, false)/2)
	if now.Sub(w.drainStart) >= limit || w.st.IP == "" || !w.a.slices.HasSynced() {
		return 0
	}
	if w.a.readyEndpoint(pod.Namespace, w.st.IP) {
		w.drainedAt = time.Time{}
		return drainPoll
	}
	if w.drainedAt.IsZero() {
		w.drainedAt = now
	}
	if left := propagation - now.Sub(w.drainedAt); left > 0 {
		return left
	}
	return 0
}

// readyEndpoint reports whether any EndpointSlice of namespace ns lists ip
// as a ready endpoint.
func (a *Agent) readyEndpoint(ns, ip string) bool {
	slices, err := a.sliceLister.EndpointSlices(ns).List(labels.Everything())
	if err != nil {
		return false
	}
	for _, s := range slices {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, addr := range e.Addresses {
				if addr == ip {
					return true
				}
			}
		}
	}
	return false
}
