package deployment

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
)

// rolloutRolling moves one step of a rolling update: scale the new
// ReplicaSet up as far as maxSurge allows, else scale old ones down as far
// as maxUnavailable allows, else (complete) clean up history; then status.
func (c *Controller) rolloutRolling(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := c.allReplicaSetsAndSyncRevision(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	allRSs := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)

	scaledUp, err := c.reconcileNewReplicaSet(ctx, allRSs, newRS, d)
	if err != nil {
		return err
	}
	if scaledUp {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	scaledDown, err := c.reconcileOldReplicaSets(ctx, allRSs, activeRSs(oldRSs), newRS, d)
	if err != nil {
		return err
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if deploymentComplete(d, &d.Status) {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, allRSs, newRS, d)
}

func (c *Controller) reconcileNewReplicaSet(ctx context.Context, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	switch {
	case rsReplicas(newRS) == replicasOf(d):
		return false, nil
	case rsReplicas(newRS) > replicasOf(d):
		scaled, _, err := c.scaleReplicaSetAndRecordEvent(ctx, newRS, replicasOf(d), d)
		return scaled, err
	}
	scaled, _, err := c.scaleReplicaSetAndRecordEvent(ctx, newRS, newRSNewReplicas(d, allRSs, newRS), d)
	return scaled, err
}

// reconcileOldReplicaSets first removes unhealthy old pods (they cannot
// lower availability), then available ones above minAvailable.
func (c *Controller) reconcileOldReplicaSets(ctx context.Context, allRSs, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	if totalReplicas(oldRSs) == 0 {
		return false, nil
	}
	limit := maxScaledDown(d, allRSs, newRS)
	if limit <= 0 {
		return false, nil
	}
	steps, planned, cleaned := planCleanupUnhealthy(oldRSs, limit)
	if cleaned < 0 {
		return false, nil
	}
	updated := map[string]*appsv1.ReplicaSet{}
	for _, s := range steps {
		_, rs, err := c.scaleReplicaSetAndRecordEvent(ctx, s.rs, s.size, d)
		if err != nil {
			return false, err
		}
		updated[rs.Name] = rs
	}
	// Continue from what the API returned, so a second resize of the same
	// ReplicaSet carries its new resourceVersion.
	for i, rs := range planned {
		if u, ok := updated[rs.Name]; ok {
			planned[i] = u
		}
	}
	allRSs = append(append([]*appsv1.ReplicaSet(nil), planned...), newRS)
	steps, _ = planScaleDownOld(d, allRSs, planned)
	scaled := cleaned
	for _, s := range steps {
		if _, _, err := c.scaleReplicaSetAndRecordEvent(ctx, s.rs, s.size, d); err != nil {
			return false, err
		}
		scaled += rsReplicas(s.rs) - s.size
	}
	return scaled > 0, nil
}
