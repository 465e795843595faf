package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// maxPatchAttempts bounds the read-modify-write loop of one patch; the
// queue's backoff takes over after that.
const maxPatchAttempts = 5

// metadataPatch is a JSON merge patch of metadata that names the
// resourceVersion it was computed from, so that it fails with 409 Conflict
// instead of overwriting a change made meanwhile (merge patches replace
// whole lists).
type metadataPatch struct {
	Metadata patchedMeta `json:"metadata"`
}

type patchedMeta struct {
	ResourceVersion string                   `json:"resourceVersion"`
	UID             types.UID                `json:"uid"`
	Finalizers      *[]string                `json:"finalizers,omitempty"`
	OwnerReferences *[]metav1.OwnerReference `json:"ownerReferences,omitempty"`
}

// updateMetadata re-reads the object and patches it with what change
// computes from the live metadata (change returns false: nothing to do),
// retrying on conflicts. A gone object needs nothing.
func (gc *GarbageCollector) updateMetadata(ctx context.Context, id identity, live *metav1.PartialObjectMetadata,
	change func(m *metav1.PartialObjectMetadata, p *patchedMeta) bool) error {
	var err error
	for range maxPatchAttempts {
		if live == nil {
			if live, err = gc.getLive(ctx, id); err != nil || live == nil {
				return err
			}
		}
		p := metadataPatch{Metadata: patchedMeta{ResourceVersion: live.ResourceVersion, UID: live.UID}}
		if !change(live, &p.Metadata) {
			return nil
		}
		body, merr := json.Marshal(p)
		if merr != nil {
			return fmt.Errorf("patch %s: %w", id, merr)
		}
		_, err = gc.metadata.Resource(id.Resource).Namespace(id.Namespace).Patch(ctx, id.Name, types.MergePatchType, body, metav1.PatchOptions{})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return nil
		case apierrors.IsConflict(err):
			live = nil
			continue
		}
		return fmt.Errorf("patch %s: %w", id, err)
	}
	return fmt.Errorf("patch %s: %w", id, err)
}

// removeFinalizer removes finalizer f from the object.
func (gc *GarbageCollector) removeFinalizer(ctx context.Context, id identity, live *metav1.PartialObjectMetadata, f string) error {
	return gc.updateMetadata(ctx, id, live, func(m *metav1.PartialObjectMetadata, p *patchedMeta) bool {
		if !slices.Contains(m.Finalizers, f) {
			return false
		}
		rest := slices.DeleteFunc(slices.Clone(m.Finalizers), func(x string) bool { return x == f })
		if rest == nil {
			rest = []string{}
		}
		p.Finalizers = &rest
		gc.log.Debug("removing finalizer", "object", id.String(), "finalizer", f)
		return true
	})
}

// removeOwnerRefs removes the owner references with the given UIDs.
func (gc *GarbageCollector) removeOwnerRefs(ctx context.Context, id identity, owners []types.UID) error {
	return gc.updateMetadata(ctx, id, nil, func(m *metav1.PartialObjectMetadata, p *patchedMeta) bool {
		rest := slices.DeleteFunc(slices.Clone(m.OwnerReferences), func(r metav1.OwnerReference) bool {
			return slices.Contains(owners, r.UID)
		})
		if len(rest) == len(m.OwnerReferences) {
			return false
		}
		if rest == nil {
			rest = []metav1.OwnerReference{}
		}
		p.OwnerReferences = &rest
		return true
	})
}
