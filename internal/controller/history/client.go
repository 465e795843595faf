package history

import (
	"bytes"
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/util/retry"
)

// Client reads revisions from a lister and writes them through the API.
type Client struct {
	Client kubernetes.Interface
	Lister appslisters.ControllerRevisionLister
}

// List returns the revisions in parent's namespace matching selector that
// parent controls or that nobody controls (orphans to adopt). The objects
// are the cache's: deep-copy before changing them.
func (c Client) List(parent metav1.Object, selector labels.Selector) ([]*appsv1.ControllerRevision, error) {
	all, err := c.Lister.ControllerRevisions(parent.GetNamespace()).List(selector)
	if err != nil {
		return nil, fmt.Errorf("list controllerrevisions: %w", err)
	}
	var out []*appsv1.ControllerRevision
	for _, r := range all {
		if ref := metav1.GetControllerOfNoCopy(r); ref == nil || ref.UID == parent.GetUID() {
			out = append(out, r)
		}
	}
	return out, nil
}

// Create creates rev for parent, named by Hash(rev, collisionCount). When
// the name is taken by a revision of parent with the same data, that one
// is returned; when it is taken by anything else, *collisionCount is
// incremented and the next name probed (the caller persists the count in
// the owner's status).
func (c Client) Create(ctx context.Context, parent metav1.Object, rev *appsv1.ControllerRevision, collisionCount *int32) (*appsv1.ControllerRevision, error) {
	if collisionCount == nil {
		return nil, fmt.Errorf("create controllerrevision: nil collision count")
	}
	clone := rev.DeepCopy()
	clone.Namespace = parent.GetNamespace()
	api := c.Client.AppsV1().ControllerRevisions(clone.Namespace)
	for {
		clone.Name = Name(parent.GetName(), Hash(rev, collisionCount))
		created, err := api.Create(ctx, clone, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			if err != nil {
				return nil, fmt.Errorf("create controllerrevision %s/%s: %w", clone.Namespace, clone.Name, err)
			}
			return created, nil
		}
		exists, err := api.Get(ctx, clone.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get controllerrevision %s/%s: %w", clone.Namespace, clone.Name, err)
		}
		if metav1.IsControlledBy(exists, parent) && bytes.Equal(exists.Data.Raw, clone.Data.Raw) {
			return exists, nil
		}
		*collisionCount++
	}
}

// UpdateRevision sets rev's revision number to n (retrying conflicts
// against a fresh read) and returns the stored object.
func (c Client) UpdateRevision(ctx context.Context, rev *appsv1.ControllerRevision, n int64) (*appsv1.ControllerRevision, error) {
	clone := rev.DeepCopy()
	api := c.Client.AppsV1().ControllerRevisions(rev.Namespace)
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if clone.Revision == n {
			return nil
		}
		clone.Revision = n
		updated, err := api.Update(ctx, clone, metav1.UpdateOptions{})
		if err == nil {
			clone = updated
			return nil
		}
		if fresh, gerr := api.Get(ctx, clone.Name, metav1.GetOptions{}); gerr == nil {
			clone = fresh
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update controllerrevision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return clone, nil
}

// Delete deletes rev; a revision already gone is not an error.
func (c Client) Delete(ctx context.Context, rev *appsv1.ControllerRevision) error {
	err := c.Client.AppsV1().ControllerRevisions(rev.Namespace).Delete(ctx, rev.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete controllerrevision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return nil
}

// Patch applies a strategic merge patch to a revision (for ownerref
// adoption and release).
func (c Client) Patch(ctx context.Context, namespace, name string, patch []byte) error {
	_, err := c.Client.AppsV1().ControllerRevisions(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
}
