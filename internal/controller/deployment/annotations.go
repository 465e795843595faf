package deployment

import (
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Annotations the controller maintains on ReplicaSets (and, for the
// revision, on the Deployment).
const (
	revisionAnnotation        = "deployment.kubernetes.io/revision"
	revisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	maxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	// changeCauseAnnotation is copied like any other annotation; named
	// here for tests and readers.
	changeCauseAnnotation = "kubernetes.io/change-cause"
)

// maxRevHistoryLengthInChars bounds the revision-history annotation
// (Kubernetes' limit); the oldest revisions are dropped first.
const maxRevHistoryLengthInChars = 2000

// annotationsToSkip are never copied from the Deployment to its
// ReplicaSets (nor back on rollback).
var annotationsToSkip = map[string]bool{
	corev1.LastAppliedConfigAnnotation: true,
	revisionAnnotation:                 true,
	revisionHistoryAnnotation:          true,
	desiredReplicasAnnotation:          true,
	maxReplicasAnnotation:              true,
	appsv1.DeprecatedRollbackTo:        true,
}

// revision parses the revision annotation of an object's annotations; no
// annotation is revision 0.
func revision(annotations map[string]string) (int64, error) {
	v, ok := annotations[revisionAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

// maxRevision is the highest revision among rss (unparsable ones skipped).
func maxRevision(rss []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range rss {
		if v, err := revision(rs.Annotations); err == nil && v > m {
			m = v
		}
	}
	return m
}

// lastRevision is the second highest revision among rss: the one `undo`
// without --to-revision returns to.
func lastRevision(rss []*appsv1.ReplicaSet) int64 {
	var m, second int64
	for _, rs := range rss {
		v, err := revision(rs.Annotations)
		if err != nil {
			continue
		}
		if v >= m {
			second, m = m, v
		} else if v > second {
			second = v
		}
	}
	return second
}

// copyDeploymentAnnotations copies d's annotations (but the skipped ones)
// onto rs and reports whether rs changed.
func copyDeploymentAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		// The deployment's own revision may be stale; the ReplicaSet's
		// is authoritative.
		if annotationsToSkip[k] || rs.Annotations[k] == v {
			continue
		}
		rs.Annotations[k] = v
		changed = true
	}
	return changed
}

// setNewReplicaSetAnnotations copies d's annotations to the new
// ReplicaSet rs, raises its revision to newRevision when lower (recording
// the old one in revision-history: a rollback to an old ReplicaSet), and,
// for a ReplicaSet about to be created, sets desired/max replicas. It
// reports whether rs changed.
func setNewReplicaSetAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, newRevision string, exists bool, historyLimit int) bool {
	changed := copyDeploymentAnnotations(d, rs)
	oldRevision, had := rs.Annotations[revisionAnnotation]
	oldInt, err := strconv.ParseInt(oldRevision, 10, 64)
	if err != nil {
		if oldRevision != "" {
			return false
		}
		oldInt = 0
	}
	newInt, err := strconv.ParseInt(newRevision, 10, 64)
	if err != nil {
		return false
	}
	if oldInt < newInt {
		rs.Annotations[revisionAnnotation] = newRevision
		changed = true
	}
	if had && oldInt < newInt {
		hist := rs.Annotations[revisionHistoryAnnotation]
		old := strings.Split(hist, ",")
		if len(old[0]) == 0 {
			rs.Annotations[revisionHistoryAnnotation] = oldRevision
		} else {
			total := len(hist) + len(oldRevision) + 1
			start := 0
			for total > historyLimit && start < len(old) {
				total -= len(old[start]) + 1
				start++
			}
			if total <= historyLimit {
				rs.Annotations[revisionHistoryAnnotation] = strings.Join(append(old[start:], oldRevision), ",")
			}
		}
	}
	if !exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d)+maxSurge(d)) {
		changed = true
	}
	return changed
}

// setReplicasAnnotations records desired and max replicas on rs.
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	if s := strconv.Itoa(int(desired)); rs.Annotations[desiredReplicasAnnotation] != s {
		rs.Annotations[desiredReplicasAnnotation] = s
		changed = true
	}
	if s := strconv.Itoa(int(maxReplicas)); rs.Annotations[maxReplicasAnnotation] != s {
		rs.Annotations[maxReplicasAnnotation] = s
		changed = true
	}
	return changed
}

func replicasAnnotationsNeedUpdate(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	return rs.Annotations[desiredReplicasAnnotation] != strconv.Itoa(int(desired)) ||
		rs.Annotations[maxReplicasAnnotation] != strconv.Itoa(int(maxReplicas))
}

func intAnnotation(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	v, ok := rs.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

// setDeploymentAnnotationsTo replaces d's copyable annotations by those of
// the ReplicaSet it rolls back to.
func setDeploymentAnnotationsTo(d *appsv1.Deployment, rs *appsv1.ReplicaSet) {
	kept := map[string]string{}
	for k, v := range d.Annotations {
		if annotationsToSkip[k] {
			kept[k] = v
		}
	}
	for k, v := range rs.Annotations {
		if !annotationsToSkip[k] {
			kept[k] = v
		}
	}
	d.Annotations = kept
}
