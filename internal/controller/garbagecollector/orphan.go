package garbagecollector

import (
	"context"
	"errors"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// attemptToOrphan carries out the Orphan policy for an owner being deleted
// with the orphan finalizer: every dependent loses its reference to the
// owner, then the owner loses the finalizer (and so goes).
func (gc *GarbageCollector) attemptToOrphan(ctx context.Context, uid types.UID) error {
	n, ok := gc.graph.get(uid)
	if !ok {
		return nil
	}
	live, err := gc.getLive(ctx, n.id)
	if err != nil || live == nil {
		return err
	}
	if live.DeletionTimestamp == nil || !slices.Contains(live.Finalizers, metav1.FinalizerOrphanDependents) {
		return nil
	}
	var errs []error
	for _, d := range gc.graph.dependentsOf(uid) {
		if err := gc.removeOwnerRefs(ctx, d.id, []types.UID{uid}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	gc.log.Debug("dependents orphaned", "object", n.id.String())
	return gc.removeFinalizer(ctx, n.id, live, metav1.FinalizerOrphanDependents)
}
