package ownerref

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// PatchFunc applies a strategic merge patch to the named object of the
// owned kind.
type PatchFunc func(ctx context.Context, namespace, name string, patch []byte) error

// GetOwnerFunc reads the owner fresh from the API (not from a cache).
type GetOwnerFunc func(ctx context.Context) (metav1.Object, error)

// Claimer claims objects for one owner. It is used for one sync and then
// dropped: the adoption check runs at most once.
type Claimer struct {
	owner    metav1.Object
	ownerGVK schema.GroupVersionKind
	selector labels.Selector
	kind     string // kind of the owned objects, for messages
	patch    PatchFunc
	getOwner GetOwnerFunc

	checked  bool
	checkErr error
}

// NewClaimer returns a Claimer of objects of kind ownedKind for owner.
func NewClaimer(owner metav1.Object, ownerGVK schema.GroupVersionKind, selector labels.Selector, ownedKind string, getOwner GetOwnerFunc, patch PatchFunc) *Claimer {
	return &Claimer{owner: owner, ownerGVK: ownerGVK, selector: selector, kind: ownedKind, patch: patch, getOwner: getOwner}
}

// Claim returns the objects of objs that owner controls after adopting
// matching orphans and releasing owned objects that no longer match.
// Errors of individual objects are aggregated; the objects that could be
// claimed are returned with them.
func Claim[T metav1.Object](ctx context.Context, c *Claimer, objs []T) ([]T, error) {
	var claimed []T
	var errs []error
	for _, o := range objs {
		ok, err := c.claimOne(ctx, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			claimed = append(claimed, o)
		}
	}
	return claimed, utilerrors.NewAggregate(errs)
}

func (c *Claimer) claimOne(ctx context.Context, obj metav1.Object) (bool, error) {
	match := c.selector.Matches(labels.Set(obj.GetLabels()))
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		if ref.UID != c.owner.GetUID() {
			return false, nil // someone else's
		}
		if match {
			return true, nil
		}
		// Ours but no longer selected: release, unless we are being
		// deleted (then the garbage collector takes care of it).
		if c.owner.GetDeletionTimestamp() != nil {
			return false, nil
		}
		if err := c.release(ctx, obj); err != nil {
			return false, err
		}
		return false, nil
	}
	// An orphan.
	if c.owner.GetDeletionTimestamp() != nil || !match || obj.GetDeletionTimestamp() != nil {
		return false, nil
	}
	if ns := c.owner.GetNamespace(); ns != "" && ns != obj.GetNamespace() {
		return false, nil
	}
	if err := c.adopt(ctx, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// canAdopt re-reads the owner once per Claimer.
func (c *Claimer) canAdopt(ctx context.Context) error {
	if c.checked {
		return c.checkErr
	}
	c.checked = true
	fresh, err := c.getOwner(ctx)
	switch {
	case err != nil:
		c.checkErr = err
	case fresh.GetUID() != c.owner.GetUID():
		c.checkErr = fmt.Errorf("original %s %s/%s is gone: got uid %s, wanted %s", c.ownerGVK.Kind, c.owner.GetNamespace(), c.owner.GetName(), fresh.GetUID(), c.owner.GetUID())
	case fresh.GetDeletionTimestamp() != nil:
		c.checkErr = fmt.Errorf("%s %s/%s has just been deleted at %v", c.ownerGVK.Kind, c.owner.GetNamespace(), c.owner.GetName(), fresh.GetDeletionTimestamp())
	}
	return c.checkErr
}

func (c *Claimer) adopt(ctx context.Context, obj metav1.Object) error {
	if err := c.canAdopt(ctx); err != nil {
		return fmt.Errorf("can't adopt %s %s/%s (%s): %w", c.kind, obj.GetNamespace(), obj.GetName(), obj.GetUID(), err)
	}
	p, err := AdoptPatch(c.owner, c.ownerGVK, obj.GetUID())
	if err != nil {
		return err
	}
	return c.patch(ctx, obj.GetNamespace(), obj.GetName(), p)
}

func (c *Claimer) release(ctx context.Context, obj metav1.Object) error {
	p, err := ReleasePatch(c.owner.GetUID(), obj.GetUID())
	if err != nil {
		return err
	}
	err = c.patch(ctx, obj.GetNamespace(), obj.GetName(), p)
	// Gone, or its UID changed (the UID precondition fails as Invalid):
	// nothing left to release.
	if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) {
		return nil
	}
	return err
}

type refPatch struct {
	Metadata refPatchMeta `json:"metadata"`
}

type refPatchMeta struct {
	OwnerReferences []map[string]any `json:"ownerReferences"`
	UID             types.UID        `json:"uid"`
}

// AdoptPatch is the strategic merge patch that makes owner the controller
// of the object with uid (and fails if the object's UID differs).
func AdoptPatch(owner metav1.Object, ownerGVK schema.GroupVersionKind, uid types.UID) ([]byte, error) {
	return json.Marshal(refPatch{Metadata: refPatchMeta{UID: uid, OwnerReferences: []map[string]any{{
		"apiVersion":         ownerGVK.GroupVersion().String(),
		"kind":               ownerGVK.Kind,
		"name":               owner.GetName(),
		"uid":                owner.GetUID(),
		"controller":         true,
		"blockOwnerDeletion": true,
	}}}})
}

// ReleasePatch is the strategic merge patch that drops the reference to
// ownerUID from the object with uid.
func ReleasePatch(ownerUID, uid types.UID) ([]byte, error) {
	return json.Marshal(refPatch{Metadata: refPatchMeta{UID: uid, OwnerReferences: []map[string]any{{
		"$patch": "delete",
		"uid":    ownerUID,
	}}}})
}
