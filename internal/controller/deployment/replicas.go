package deployment

import (
	"math"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// replicasOf is spec.replicas with the API default of 1.
func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func rsReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil || rs.Spec.Replicas == nil {
		return 0
	}
	return *rs.Spec.Replicas
}

func isRollingUpdate(d *appsv1.Deployment) bool {
	return d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType
}

// resolveFenceposts turns maxSurge and maxUnavailable into numbers for
// desired replicas: percentages of surge round up, of unavailable round
// down, and when both come to zero unavailable becomes 1 (validation
// forbids both zero explicitly, but rounding can get there).
func resolveFenceposts(surge, unavailable *intstr.IntOrString, desired int32) (int32, int32, error) {
	zero := intstr.FromInt32(0)
	s, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(surge, zero), int(desired), true)
	if err != nil {
		return 0, 0, err
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(unavailable, zero), int(desired), false)
	if err != nil {
		return 0, 0, err
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u), nil
}

// maxSurge is how many pods above replicas a rolling deployment may run.
func maxSurge(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) || d.Spec.Strategy.RollingUpdate == nil {
		return 0
	}
	s, _, _ := resolveFenceposts(d.Spec.Strategy.RollingUpdate.MaxSurge, d.Spec.Strategy.RollingUpdate.MaxUnavailable, replicasOf(d))
	return s
}

// maxUnavailable is how many of replicas may be unavailable during a
// rolling update (never more than replicas).
func maxUnavailable(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) || replicasOf(d) == 0 || d.Spec.Strategy.RollingUpdate == nil {
		return 0
	}
	_, u, _ := resolveFenceposts(d.Spec.Strategy.RollingUpdate.MaxSurge, d.Spec.Strategy.RollingUpdate.MaxUnavailable, replicasOf(d))
	return min(u, replicasOf(d))
}

// totalReplicas sums spec.replicas; actual/ready/available sum status.
func totalReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += rsReplicas(rs)
	}
	return n
}

func actualReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.Replicas
		}
	}
	return n
}

func readyReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.ReadyReplicas
		}
	}
	return n
}

func availableReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.AvailableReplicas
		}
	}
	return n
}

// terminatingReplicas sums status.terminatingReplicas, nil when any
// ReplicaSet does not report it (an older controller wrote its status).
func terminatingReplicas(rss []*appsv1.ReplicaSet) *int32 {
	var n int32
	for _, rs := range rss {
		switch {
		case rs == nil:
		case rs.Status.TerminatingReplicas == nil:
			return nil
		default:
			n += *rs.Status.TerminatingReplicas
		}
	}
	return &n
}

// activeRSs drops nil ReplicaSets and those scaled to zero.
func activeRSs(rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rs != nil && rsReplicas(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// byCreation orders ReplicaSets oldest first, then by name.
func byCreation(rss []*appsv1.ReplicaSet) func(i, j int) bool {
	return func(i, j int) bool {
		a, b := rss[i], rss[j]
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
}

func sortByCreation(rss []*appsv1.ReplicaSet) { sort.SliceStable(rss, byCreation(rss)) }

// sortBySizeNewer orders larger first, newer first among equals (where
// proportional scale-up leftovers go); sortBySizeOlder: larger first,
// older first among equals (scale-down leftovers).
func sortBySizeNewer(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		if rsReplicas(rss[i]) == rsReplicas(rss[j]) {
			return byCreation(rss)(j, i)
		}
		return rsReplicas(rss[i]) > rsReplicas(rss[j])
	})
}

func sortBySizeOlder(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		if rsReplicas(rss[i]) == rsReplicas(rss[j]) {
			return byCreation(rss)(i, j)
		}
		return rsReplicas(rss[i]) > rsReplicas(rss[j])
	})
}

// sortByRevision orders by revision annotation, then by creation.
func sortByRevision(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		ri, _ := revision(rss[i].Annotations)
		rj, _ := revision(rss[j].Annotations)
		if ri == rj {
			return byCreation(rss)(i, j)
		}
		return ri < rj
	})
}

// equalIgnoreHash compares pod templates ignoring pod-template-hash.
func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return equality.Semantic.DeepEqual(a, b)
}

// findNewReplicaSet is the oldest ReplicaSet whose template equals d's.
// It sorts rss.
func findNewReplicaSet(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	sortByCreation(rss)
	for _, rs := range rss {
		if equalIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			// After upgrades there may be several; the oldest wins,
			// deterministically.
			return rs
		}
	}
	return nil
}

// findOldReplicaSets returns the old ReplicaSets with replicas, and all
// of them.
func findOldReplicaSets(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) (withReplicas, all []*appsv1.ReplicaSet) {
	newRS := findNewReplicaSet(d, rss)
	for _, rs := range rss {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		all = append(all, rs)
		if rsReplicas(rs) != 0 {
			withReplicas = append(withReplicas, rs)
		}
	}
	return withReplicas, all
}

// findActiveOrLatest returns the only active ReplicaSet, or the newest
// when none is active, or nil when several are (then scaling is
// proportional).
func findActiveOrLatest(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	old := append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sort.SliceStable(old, func(i, j int) bool { return byCreation(old)(j, i) })
	active := activeRSs(append(old, newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return old[0]
	case 1:
		return active[0]
	default:
		return nil
	}
}

// podCeiling sums, per ReplicaSet, the larger of spec.replicas and
// status.replicas. Kubernetes sums spec only, so right after an old
// ReplicaSet is scaled down its pods (still running until its controller
// deletes them) and the new ReplicaSet's extra pods can briefly exceed
// replicas+maxSurge. Counting the pods not yet deleted keeps the surge
// bound true for pods, at the cost of waiting for one status update.
func podCeiling(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += max(rsReplicas(rs), rs.Status.Replicas)
		}
	}
	return n
}

// newRSNewReplicas is the size the new ReplicaSet should have next: for a
// rolling update, as many more as the surge allows (see podCeiling)
// without exceeding replicas; for Recreate, replicas.
func newRSNewReplicas(d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	switch d.Spec.Strategy.Type {
	case appsv1.RollingUpdateDeploymentStrategyType:
		maxTotal := replicasOf(d) + maxSurge(d)
		current := podCeiling(allRSs)
		if current >= maxTotal {
			return rsReplicas(newRS)
		}
		up := min(maxTotal-current, replicasOf(d)-rsReplicas(newRS))
		return rsReplicas(newRS) + up
	default:
		return replicasOf(d)
	}
}

// isSaturated reports whether rs alone runs all of d's replicas, all
// available, and both agree on the size.
func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := intAnnotation(rs, desiredReplicasAnnotation)
	return ok && rsReplicas(rs) == replicasOf(d) && desired == replicasOf(d) && rs.Status.AvailableReplicas == replicasOf(d)
}

// proportion is how many replicas rs gains (or loses) when the deployment
// changes size by toAdd with added given out so far: its share of the new
// size by the max-replicas it was last sized for, bounded by what is left.
func proportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, toAdd, added int32) int32 {
	if rs == nil || rsReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := replicaSetFraction(rs, d)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

func replicaSetFraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	if replicasOf(d) == 0 {
		return -rsReplicas(rs)
	}
	deploymentReplicas := replicasOf(d) + maxSurge(d)
	annotated, ok := intAnnotation(rs, maxReplicasAnnotation)
	if !ok || annotated == 0 {
		// Unknown (or nonsense) previous size: fall back to the current
		// one; the min/max in proportion keeps us in bounds.
		annotated = d.Status.Replicas
	}
	if annotated == 0 {
		return 0
	}
	size := float64(rsReplicas(rs)*deploymentReplicas) / float64(annotated)
	return int32(math.Round(size)) - rsReplicas(rs)
}

// proportionalSizes computes the new size of each active ReplicaSet when a
// rolling deployment is resized mid-rollout; leftovers from rounding go
// to the largest (newest on scale up, oldest on scale down). rss must be
// the active ReplicaSets; it is reordered. The scaling direction is
// returned as "up", "down" or "".
func proportionalSizes(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) (map[string]int32, string) {
	allowed := int32(0)
	if replicasOf(d) > 0 {
		allowed = replicasOf(d) + maxSurge(d)
	}
	toAdd := allowed - totalReplicas(rss)
	op := ""
	switch {
	case toAdd > 0:
		sortBySizeNewer(rss)
		op = "up"
	case toAdd < 0:
		sortBySizeOlder(rss)
		op = "down"
	}
	sizes := map[string]int32{}
	added := int32(0)
	for _, rs := range rss {
		if toAdd != 0 {
			p := proportion(rs, d, toAdd, added)
			sizes[rs.Name] = rsReplicas(rs) + p
			added += p
		} else {
			sizes[rs.Name] = rsReplicas(rs)
		}
	}
	if len(rss) > 0 && toAdd != 0 {
		first := rss[0].Name
		sizes[first] += toAdd - added
		if sizes[first] < 0 {
			sizes[first] = 0
		}
	}
	return sizes, op
}

// scaleStep is one planned change of a ReplicaSet's size.
type scaleStep struct {
	rs   *appsv1.ReplicaSet
	size int32
}

// maxScaledDown is how many old pods a rolling update may remove now:
// everything above minAvailable, minus the new ReplicaSet's pods that are
// not available yet (so that they never count as capacity).
func maxScaledDown(d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	minAvailable := replicasOf(d) - maxUnavailable(d)
	newUnavailable := rsReplicas(newRS) - newRS.Status.AvailableReplicas
	return totalReplicas(allRSs) - minAvailable - newUnavailable
}

// planCleanupUnhealthy scales old ReplicaSets (oldest first) down by
// their unavailable pods, at most limit in total: removing them cannot
// lower availability. It returns the steps and the old ReplicaSets with
// the planned sizes applied (copies where changed), or a total of -1 when
// some ReplicaSet's status is stale and no scale-down may be planned now.
func planCleanupUnhealthy(oldRSs []*appsv1.ReplicaSet, limit int32) ([]scaleStep, []*appsv1.ReplicaSet, int32) {
	rss := append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sortByCreation(rss)
	var steps []scaleStep
	total := int32(0)
	for i, rs := range rss {
		if total >= limit {
			break
		}
		if rsReplicas(rs) == 0 || rsReplicas(rs) == rs.Status.AvailableReplicas {
			continue
		}
		down := min(limit-total, rsReplicas(rs)-rs.Status.AvailableReplicas)
		if down < 0 {
			// More available than wanted: the status predates our last
			// scale-down. Kubernetes refuses to plan on it (its "invalid
			// request to scale down" check), and so do we; the status
			// update that follows wakes us again.
			return nil, oldRSs, -1
		}
		size := rsReplicas(rs) - down
		steps = append(steps, scaleStep{rs: rs, size: size})
		cp := rs.DeepCopy()
		cp.Spec.Replicas = &size
		rss[i] = cp
		total += down
	}
	return steps, rss, total
}

// planScaleDownOld scales old ReplicaSets (oldest first) down by the
// available pods above minAvailable.
func planScaleDownOld(d *appsv1.Deployment, allRSs, oldRSs []*appsv1.ReplicaSet) ([]scaleStep, int32) {
	minAvailable := replicasOf(d) - maxUnavailable(d)
	available := availableReplicas(allRSs)
	if available <= minAvailable {
		return nil, 0
	}
	rss := append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sortByCreation(rss)
	want := available - minAvailable
	var steps []scaleStep
	total := int32(0)
	for _, rs := range rss {
		if total >= want {
			break
		}
		if rsReplicas(rs) == 0 {
			continue
		}
		down := min(rsReplicas(rs), want-total)
		steps = append(steps, scaleStep{rs: rs, size: rsReplicas(rs) - down})
		total += down
	}
	return steps, total
}
