package replicaset

import (
	"math"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/internal/controller/podcontrol"
)

// podsToDelete chooses diff pods of pods to delete, in the order
// Kubernetes prefers (ActivePodsWithRanks with PodDeletionCost and
// LogarithmicScaleDown on, as they are by default). related are the active
// pods of every ReplicaSet with the same owner (this one included): a pod
// sharing its node with more of them is "doubled up". It reorders pods.
func podsToDelete(pods, related []*corev1.Pod, diff int, now time.Time) []*corev1.Pod {
	if diff >= len(pods) {
		return pods
	}
	onNode := map[string]int{}
	for _, p := range related {
		if podcontrol.IsActive(p) {
			onNode[p.Spec.NodeName]++
		}
	}
	ranks := make([]int, len(pods))
	for i, p := range pods {
		ranks[i] = onNode[p.Spec.NodeName]
	}
	sort.Sort(rankedPods{pods: pods, rank: ranks, now: metav1.NewTime(now)})
	return pods[:diff]
}

var phaseOrdinal = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

type rankedPods struct {
	pods []*corev1.Pod
	rank []int
	now  metav1.Time
}

func (s rankedPods) Len() int { return len(s.pods) }
func (s rankedPods) Swap(i, j int) {
	s.pods[i], s.pods[j] = s.pods[j], s.pods[i]
	s.rank[i], s.rank[j] = s.rank[j], s.rank[i]
}

// Less reports whether pod i should be deleted before pod j.
func (s rankedPods) Less(i, j int) bool {
	a, b := s.pods[i], s.pods[j]
	// 1. Unassigned < assigned.
	if a.Spec.NodeName != b.Spec.NodeName && (a.Spec.NodeName == "" || b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	// 2. Pending < Unknown < Running.
	if phaseOrdinal[a.Status.Phase] != phaseOrdinal[b.Status.Phase] {
		return phaseOrdinal[a.Status.Phase] < phaseOrdinal[b.Status.Phase]
	}
	// 3. Not ready < ready.
	ra, rb := podcontrol.IsReady(a), podcontrol.IsReady(b)
	if ra != rb {
		return !ra
	}
	// 4. Lower deletion cost < higher.
	if ca, cb := podcontrol.DeletionCost(a), podcontrol.DeletionCost(b); ca != cb {
		return ca < cb
	}
	// 5. Doubled up < not doubled up.
	if s.rank[i] != s.rank[j] {
		return s.rank[i] > s.rank[j]
	}
	// 6. Ready for less time < more time (in log2 buckets of age).
	if ra && rb {
		ta, tb := podcontrol.ReadyTime(a), podcontrol.ReadyTime(b)
		if !ta.Equal(&tb) {
			if ta.IsZero() || tb.IsZero() {
				return afterOrZero(ta, tb)
			}
			if d := logRankDiff(ta, tb, s.now); d != 0 {
				return d < 0
			}
			return a.UID < b.UID
		}
	}
	// 7. More restarts < fewer.
	if ma, mb := podcontrol.MaxRestarts(a), podcontrol.MaxRestarts(b); ma != mb {
		return ma > mb
	}
	// 8. Empty creation time < newer < older (in log2 buckets of age).
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		if a.CreationTimestamp.IsZero() || b.CreationTimestamp.IsZero() {
			return afterOrZero(a.CreationTimestamp, b.CreationTimestamp)
		}
		if d := logRankDiff(a.CreationTimestamp, b.CreationTimestamp, s.now); d != 0 {
			return d < 0
		}
		return a.UID < b.UID
	}
	return false
}

func afterOrZero(t1, t2 metav1.Time) bool {
	if t1.IsZero() || t2.IsZero() {
		return t1.IsZero()
	}
	return t1.After(t2.Time)
}

// logRankDiff compares the ages of t1 and t2 at now in powers of two of
// nanoseconds, so pods of roughly the same age rank alike and the choice
// among them is pseudo-random (by UID).
func logRankDiff(t1, t2, now metav1.Time) int64 {
	d1, d2 := now.Sub(t1.Time), now.Sub(t2.Time)
	r1, r2 := int64(-1), int64(-1)
	if d1 > 0 {
		r1 = int64(math.Log2(float64(d1)))
	}
	if d2 > 0 {
		r2 = int64(math.Log2(float64(d2)))
	}
	return r1 - r2
}
