package garbagecollector

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// ownerState is what a live look finds of one owner reference.
type ownerState int

const (
	ownerSolid    ownerState = iota // exists and is not waiting for dependents
	ownerDangling                   // gone, or its name now holds another UID
	ownerWaiting                    // being deleted in the foreground
)

// attemptToDelete looks at one object: an owner waiting for its dependents
// (foreground deletion) or a dependent whose owners may be gone or waiting.
func (gc *GarbageCollector) attemptToDelete(ctx context.Context, uid types.UID) error {
	n, ok := gc.graph.get(uid)
	if !ok {
		return nil
	}
	live, err := gc.getLive(ctx, n.id)
	if err != nil || live == nil {
		return err
	}
	if live.DeletionTimestamp != nil {
		if slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents) {
			return gc.processDeletingDependents(ctx, n.id, live)
		}
		return nil
	}
	if len(live.OwnerReferences) == 0 {
		return nil
	}
	var solid, dangling, waiting []metav1.OwnerReference
	for _, r := range live.OwnerReferences {
		st, err := gc.ownerState(ctx, n.id, r)
		if err != nil {
			return err
		}
		switch st {
		case ownerSolid:
			solid = append(solid, r)
		case ownerDangling:
			dangling = append(dangling, r)
		case ownerWaiting:
			waiting = append(waiting, r)
		}
	}
	switch {
	case len(solid) > 0:
		// Another owner keeps the object alive: it only forgets the owners
		// that are gone or going.
		if len(dangling)+len(waiting) == 0 {
			return nil
		}
		var drop []types.UID
		for _, r := range append(dangling, waiting...) {
			drop = append(drop, r.UID)
		}
		gc.log.Debug("removing owner references", "object", n.id.String(), "owners", drop)
		return gc.removeOwnerRefs(ctx, n.id, drop)
	case len(waiting) > 0 && gc.graph.hasDependents(uid):
		// An owner deleted in the foreground waits for this object; if it
		// has dependents of its own, they go first (Kubernetes does the same).
		return gc.deleteObject(ctx, n.id, metav1.DeletePropagationForeground)
	default:
		return gc.deleteObject(ctx, n.id, policyFor(live))
	}
}

// policyFor keeps a policy the object already asked for; else Background.
func policyFor(m *metav1.PartialObjectMetadata) metav1.DeletionPropagation {
	switch {
	case slices.Contains(m.Finalizers, metav1.FinalizerOrphanDependents):
		return metav1.DeletePropagationOrphan
	case slices.Contains(m.Finalizers, metav1.FinalizerDeleteDependents):
		return metav1.DeletePropagationForeground
	}
	return metav1.DeletePropagationBackground
}

// processDeletingDependents removes the foregroundDeletion finalizer from
// an owner once no dependent blocks it, and makes sure the blocking ones
// are being deleted. The owner is looked at again when a dependent goes.
func (gc *GarbageCollector) processDeletingDependents(ctx context.Context, id identity, live *metav1.PartialObjectMetadata) error {
	blocking := gc.graph.blockingDependents(id.UID)
	if len(blocking) == 0 {
		gc.log.Debug("no blocking dependents left", "object", id.String())
		return gc.removeFinalizer(ctx, id, live, metav1.FinalizerDeleteDependents)
	}
	for _, d := range blocking {
		if !d.beingDeleted || d.deletingDependents {
			gc.deleteQ.Add(d.id.UID)
		}
	}
	return nil
}

// ownerState classifies one owner reference of dependent dep. Known-absent
// owners and owners the graph has observed need no request; anything else
// is looked up live, so that no object is deleted on a lagging cache.
func (gc *GarbageCollector) ownerState(ctx context.Context, dep identity, r metav1.OwnerReference) (ownerState, error) {
	mapping, err := gc.mapping(r)
	if err != nil {
		return 0, err
	}
	ns := ""
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if !dep.Namespaced {
			// A cluster-scoped object cannot be owned by a namespaced one:
			// the reference can never resolve.
			return ownerDangling, nil
		}
		ns = dep.Namespace
	}
	key := absentKey{UID: r.UID, Namespace: ns}
	if gc.absent.has(key) {
		return ownerDangling, nil
	}
	if o, ok := gc.graph.get(r.UID); ok && o.id.Name == r.Name && o.id.Namespace == ns {
		// Observed: if it is deleted later, its delete event brings this
		// dependent back here.
		if o.deletingDependents {
			return ownerWaiting, nil
		}
		return ownerSolid, nil
	}
	owner, err := gc.metadata.Resource(mapping.Resource).Namespace(ns).Get(ctx, r.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		gc.absent.add(key)
		return ownerDangling, nil
	case err != nil:
		return 0, fmt.Errorf("get owner %s %s of %s: %w", r.Kind, r.Name, dep, err)
	case owner.UID != r.UID:
		gc.absent.add(key)
		return ownerDangling, nil
	case owner.DeletionTimestamp != nil && slices.Contains(owner.Finalizers, metav1.FinalizerDeleteDependents):
		return ownerWaiting, nil
	}
	return ownerSolid, nil
}

// mapping resolves an owner reference's kind to a resource, rediscovering
// once when the kind is unknown (it may be new).
func (gc *GarbageCollector) mapping(r metav1.OwnerReference) (*meta.RESTMapping, error) {
	gv, err := schema.ParseGroupVersion(r.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("owner reference %s/%s: %w", r.Kind, r.Name, err)
	}
	gk := schema.GroupKind{Group: gv.Group, Kind: r.Kind}
	m, err := gc.mapper.RESTMapping(gk, gv.Version)
	if meta.IsNoMatchError(err) {
		gc.mapper.Reset()
		m, err = gc.mapper.RESTMapping(gk, gv.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("owner reference %s %s: %w", r.APIVersion, r.Kind, err)
	}
	return m, nil
}

// getLive reads the object now; nil (without error) when it is gone or its
// name holds another object.
func (gc *GarbageCollector) getLive(ctx context.Context, id identity) (*metav1.PartialObjectMetadata, error) {
	m, err := gc.metadata.Resource(id.Resource).Namespace(id.Namespace).Get(ctx, id.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", id, err)
	}
	if m.UID != id.UID {
		return nil, nil
	}
	return m, nil
}

// deleteObject deletes the object with the UID it was judged by.
func (gc *GarbageCollector) deleteObject(ctx context.Context, id identity, policy metav1.DeletionPropagation) error {
	gc.log.Info("deleting", "object", id.String(), "propagationPolicy", policy)
	uid := id.UID
	err := gc.metadata.Resource(id.Resource).Namespace(id.Namespace).Delete(ctx, id.Name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid},
		PropagationPolicy: &policy,
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if apierrors.IsConflict(err) {
		// The UID precondition failed: the object we judged is gone.
		if m, gerr := gc.getLive(ctx, id); gerr == nil && m == nil {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}
