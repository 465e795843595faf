package statefulset

import (
	"context"
	"errors"
	"slices"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	intstrutil "k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-dev/skiff/internal/controller/podcontrol"
)

// plan is one pass over a StatefulSet's pods.
type plan struct {
	c                     *Controller
	set                   *appsv1.StatefulSet
	currentSet, updateSet *appsv1.StatefulSet
	currentRev, updateRev *appsv1.ControllerRevision
	replicas              []*corev1.Pod // index = ordinal - start
	condemned             []*corev1.Pod // ordinals outside the range, descending
	firstUnhealthy        *corev1.Pod
	monotonic             bool
	status                appsv1.StatefulSetStatus
}

// updateStatefulSet is Kubernetes' updateStatefulSet: it creates missing
// and replaces failed pods (in ordinal order, each waiting for its
// predecessors to be Running and Ready under OrderedReady), deletes pods
// beyond the replica range (highest ordinal first), then rolls pods at
// or above the partition to the update revision, highest ordinal first,
// within maxUnavailable. It returns the status to store.
func (c *Controller) updateStatefulSet(ctx context.Context, set *appsv1.StatefulSet, current, update *appsv1.ControllerRevision, collisionCount int32, pods []*corev1.Pod) (*appsv1.StatefulSetStatus, error) {
	currentSet, err := applyRevision(set, current)
	if err != nil {
		return nil, err
	}
	updateSet, err := applyRevision(set, update)
	if err != nil {
		return nil, err
	}
	p := &plan{c: c, set: set, currentSet: currentSet, updateSet: updateSet, currentRev: current, updateRev: update,
		monotonic: set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement}
	p.status.ObservedGeneration = set.Generation
	p.status.CurrentRevision = current.Name
	p.status.UpdateRevision = update.Name
	p.status.CollisionCount = &collisionCount
	p.updateStatus(pods)

	start := startOrdinal(set)
	p.replicas = make([]*corev1.Pod, replicas(set))
	for _, pod := range pods {
		switch o := ordinalOf(pod); {
		case inOrdinalRange(pod, set):
			p.replicas[o-start] = pod
		case o >= 0:
			p.condemned = append(p.condemned, pod)
		}
	}
	for i := range p.replicas {
		if p.replicas[i] == nil {
			p.replicas[i] = newVersionedPod(currentSet, updateSet, current.Name, update.Name, start+i)
		}
	}
	slices.SortFunc(p.condemned, func(a, b *corev1.Pod) int { return ordinalOf(b) - ordinalOf(a) })
	for _, r := range p.replicas {
		if !isHealthy(r) && p.firstUnhealthy == nil {
			p.firstUnhealthy = r
		}
	}
	for i := len(p.condemned) - 1; i >= 0 && p.firstUnhealthy == nil; i-- {
		if !isHealthy(p.condemned[i]) {
			p.firstUnhealthy = p.condemned[i]
		}
	}
	if set.DeletionTimestamp != nil {
		return &p.status, nil
	}

	done := func(err error) (*appsv1.StatefulSetStatus, error) {
		p.updateStatus(p.all())
		return &p.status, err
	}
	if exit, err := p.runForAll(p.replicas, func(i int) (bool, error) { return p.processReplica(ctx, i) }); exit || err != nil {
		return done(err)
	}
	fixClaims := func(i int) (bool, error) {
		ok, err := c.claimsMatchRetention(updateSet, p.condemned[i])
		if err != nil {
			return true, err
		}
		if !ok {
			if err := c.updateClaimsForRetention(ctx, updateSet, p.condemned[i]); err != nil {
				return true, err
			}
		}
		return false, nil
	}
	if exit, err := p.runForAll(p.condemned, fixClaims); exit || err != nil {
		return done(err)
	}
	if exit, err := p.runForAll(p.condemned, func(i int) (bool, error) { return p.processCondemned(ctx, i) }); exit || err != nil {
		return done(err)
	}
	p.updateStatus(p.all())
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return &p.status, nil
	}
	return &p.status, p.rollingUpdate(ctx)
}

func (p *plan) all() []*corev1.Pod { return append(slices.Clone(p.replicas), p.condemned...) }

// runForAll calls fn for each pod: in order, stopping at the first that
// asks to, when monotonic; otherwise in slow-start parallel batches.
func (p *plan) runForAll(pods []*corev1.Pod, fn func(i int) (bool, error)) (bool, error) {
	if p.monotonic {
		for i := range pods {
			if exit, err := fn(i); exit || err != nil {
				return true, err
			}
		}
		return false, nil
	}
	var errs []error
	for pos, batch := 0, 1; pos < len(pods); pos, batch = pos+batch, batch*2 {
		n := min(batch, len(pods)-pos)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := pos; i < pos+n; i++ {
			wg.Go(func() {
				if _, err := fn(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			return true, errors.Join(errs...)
		}
	}
	return false, nil
}

// processReplica handles the pod at index i of the replica range;
// exit=true stops an ordered pass (the pod is not yet Running and Ready
// and available, or was just created).
func (p *plan) processReplica(ctx context.Context, i int) (bool, error) {
	c, set := p.c, p.set
	pod := p.replicas[i]
	// Failed and succeeded pods are recreated, whatever the exit code: an
	// evicted pod or one stopped by a node reboot ends up either way.
	if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		if !isTerminating(pod) {
			if pod.Status.Phase == corev1.PodFailed {
				c.recorder.Eventf(set, corev1.EventTypeWarning, RecreatingFailedPodReason, "StatefulSet %s/%s is recreating failed Pod %s", set.Namespace, set.Name, pod.Name)
			} else {
				c.recorder.Eventf(set, corev1.EventTypeNormal, RecreatingTerminatedPodReason, "StatefulSet %s/%s is recreating terminated Pod %s", set.Namespace, set.Name, pod.Name)
			}
			if err := c.deletePod(ctx, set, pod); err != nil {
				return true, err
			}
		}
		// Its replacement is created once the deletion is observed.
		return p.monotonic, nil
	}
	if !isCreated(pod) {
		stale, err := c.claimIsStale(set, pod)
		if err != nil || stale {
			return true, err
		}
		if err := c.createPod(ctx, set, pod); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return true, nil
			}
			return true, err
		}
		// The new pod is Pending: an ordered pass waits for it.
		return p.monotonic, nil
	}
	if pod.Status.Phase == corev1.PodPending {
		// Claims deleted under a pending pod are recreated.
		if err := c.createMissingClaims(ctx, set, pod); err != nil {
			return true, err
		}
	}
	if p.monotonic && (isTerminating(pod) || !isRunningAndReady(pod) || !p.available(pod)) {
		return true, nil
	}
	ok, err := c.claimsMatchRetention(p.updateSet, pod)
	if err != nil {
		ok = false
	}
	if identityMatches(set, pod) && storageMatches(set, pod) && ok {
		return false, nil
	}
	if err := c.updatePod(ctx, p.updateSet, pod.DeepCopy()); err != nil {
		return true, err
	}
	return false, nil
}

// processCondemned deletes the condemned pod at index i (pods are sorted
// by descending ordinal). Ordered: one at a time, each waiting for the
// previous deletion to finish, and only healthy pods or the first
// unhealthy one.
func (p *plan) processCondemned(ctx context.Context, i int) (bool, error) {
	pod := p.condemned[i]
	if isTerminating(pod) {
		return p.monotonic, nil
	}
	if p.monotonic && pod != p.firstUnhealthy && (!isRunningAndReady(pod) || !p.available(pod)) {
		return true, nil
	}
	return true, p.c.deletePod(ctx, p.set, pod)
}

func (p *plan) available(pod *corev1.Pod) bool {
	return podcontrol.IsAvailable(pod, p.set.Spec.MinReadySeconds, p.c.now())
}

// rollingUpdate deletes pods at or above the partition that run another
// revision, highest ordinal first, as long as fewer than maxUnavailable
// pods of the range are unavailable (Kubernetes' MaxUnavailableStatefulSet
// behaviour; maxUnavailable defaults to 1, which is the classic
// one-at-a-time update). Deleted pods come back at the update revision.
func (p *plan) rollingUpdate(ctx context.Context) error {
	set := p.set
	partition, maxUnavailable := 0, 1
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.Partition != nil {
			partition = int(*ru.Partition)
		}
		mu := intstrutil.FromInt32(1)
		if ru.MaxUnavailable != nil {
			mu = *ru.MaxUnavailable
		}
		n, err := intstrutil.GetScaledValueFromIntOrPercent(&mu, replicas(set), false)
		if err != nil {
			return err
		}
		maxUnavailable = max(n, 1)
	}
	unavailable := 0
	for _, pod := range p.replicas {
		if !isHealthy(pod) || !p.available(pod) {
			unavailable++
		}
	}
	budget := maxUnavailable - unavailable
	for target := len(p.replicas) - 1; target >= partition && budget > 0; target-- {
		pod := p.replicas[target]
		if podRevision(pod) == p.updateRev.Name || isTerminating(pod) {
			continue
		}
		p.c.log.Debug("deleting pod for update", "statefulset", setKey(set), "pod", pod.Name, "revision", podRevision(pod))
		if err := p.c.deletePod(ctx, set, pod); err != nil {
			return err
		}
		budget--
		p.status.CurrentReplicas--
	}
	return nil
}

// updateStatus counts pods into p.status, as Kubernetes' updateStatus.
func (p *plan) updateStatus(pods []*corev1.Pod) {
	s := &p.status
	s.Replicas, s.ReadyReplicas, s.AvailableReplicas, s.CurrentReplicas, s.UpdatedReplicas = 0, 0, 0, 0, 0
	for _, pod := range pods {
		if pod == nil {
			continue
		}
		if isCreated(pod) {
			s.Replicas++
		}
		if isRunningAndReady(pod) {
			s.ReadyReplicas++
			if p.available(pod) {
				s.AvailableReplicas++
			}
		}
		if isCreated(pod) && !isTerminating(pod) {
			switch rev := podRevision(pod); {
			case rev == p.currentRev.Name && rev == p.updateRev.Name:
				s.CurrentReplicas++
				s.UpdatedReplicas++
			case rev == p.currentRev.Name:
				s.CurrentReplicas++
			case rev == p.updateRev.Name:
				s.UpdatedReplicas++
			}
		}
	}
}
