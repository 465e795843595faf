package namespace

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/discovery"
)

// contentResource is a served namespaced resource the controller empties.
type contentResource struct {
	gvr              schema.GroupVersionResource
	deleteCollection bool
}

// contentResources lists the preferred version of every namespaced
// resource that can be listed and deleted. A partial discovery failure
// returns what was found, with the error.
func (c *Controller) contentResources() ([]contentResource, error) {
	lists, err := discovery.ServerPreferredNamespacedResources(c.discovery)
	var out []contentResource
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			verbs := sets.New(r.Verbs...)
			if strings.Contains(r.Name, "/") || !verbs.Has("list") || !verbs.HasAny("delete", "deletecollection") {
				continue
			}
			out = append(out, contentResource{gvr: gv.WithResource(r.Name), deleteCollection: verbs.Has("deletecollection")})
		}
	}
	return out, err
}

// deleteContent deletes everything in namespace ns and reports what is
// left.
func (c *Controller) deleteContent(ctx context.Context, ns string) progress {
	p := progress{remaining: map[schema.GroupVersionResource]int{}, finalizers: map[string]int{}}
	resources, err := c.contentResources()
	if err != nil {
		p.discoveryErr = err
	}
	for _, r := range resources {
		if err := c.deleteResource(ctx, ns, r, &p); err != nil {
			p.deleteErrs = append(p.deleteErrs, err)
		}
	}
	if len(p.finalizers) == 0 {
		p.finalizers = nil
	}
	if len(p.remaining) == 0 {
		p.remaining = nil
	}
	return p
}

// deleteResource deletes the objects of one resource in ns (one
// deletecollection where served, else one delete per object) and counts
// what is still there afterwards.
func (c *Controller) deleteResource(ctx context.Context, ns string, r contentResource, p *progress) error {
	client := c.metadata.Resource(r.gvr).Namespace(ns)
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	deleted := false
	if r.deleteCollection {
		err := client.DeleteCollection(ctx, opts, metav1.ListOptions{})
		switch {
		case err == nil:
			deleted = true
		case apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err):
		default:
			return fmt.Errorf("delete %s: %w", r.gvr.GroupResource(), err)
		}
	}
	list, err := client.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", r.gvr.GroupResource(), err)
	}
	for _, item := range list.Items {
		if !deleted && item.DeletionTimestamp == nil {
			uid := item.UID
			o := opts
			o.Preconditions = &metav1.Preconditions{UID: &uid}
			err := client.Delete(ctx, item.Name, o)
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				continue // gone, or replaced by an object the next pass sees
			}
			if err != nil {
				return fmt.Errorf("delete %s %s: %w", r.gvr.GroupResource(), item.Name, err)
			}
		}
		// Whatever this pass saw is counted until a later pass no longer
		// sees it; a delete that removed it at once is just one more pass.
		p.remaining[r.gvr]++
		for _, f := range item.Finalizers {
			p.finalizers[f]++
		}
	}
	return nil
}
