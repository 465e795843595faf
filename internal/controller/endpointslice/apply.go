package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
)

// errStaleCache says the informer cache has not yet seen this controller's
// own last writes for an owner; acting on it could duplicate slices, so
// the sync is retried later.
var errStaleCache = errors.New("endpointslice cache is behind our writes")

// tracker remembers, per owner, the slices this controller wrote and the
// resource version each write produced (0: deleted), until the informer
// cache has caught up with them (upstream's endpointSliceTracker).
type tracker struct {
	mu     sync.Mutex
	owners map[string]map[string]uint64 // owner key → slice name → rv
}

func newTracker() *tracker { return &tracker{owners: map[string]map[string]uint64{}} }

func (t *tracker) record(owner, slice string, rv uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.owners[owner]
	if m == nil {
		m = map[string]uint64{}
		t.owners[owner] = m
	}
	m[slice] = rv
}

func (t *tracker) forget(owner string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.owners, owner)
}

// stale reports whether the cache still lacks one of our writes for owner,
// dropping the writes it has caught up with.
func (t *tracker) stale(owner, ns string, lister discoverylisters.EndpointSliceLister) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for name, rv := range t.owners[owner] {
		cur, err := lister.EndpointSlices(ns).Get(name)
		caught := false
		switch {
		case rv == 0:
			caught = apierrors.IsNotFound(err)
		case err == nil:
			caught = parseRV(cur.ResourceVersion) >= rv
		}
		if !caught {
			return true
		}
		delete(t.owners[owner], name)
	}
	return false
}

func parseRV(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// apply writes a plan: creates, then updates, then deletes.
func apply(ctx context.Context, client kubernetes.Interface, t *tracker, owner string, p plan) error {
	api := client.DiscoveryV1().EndpointSlices
	for _, s := range p.Create {
		got, err := api(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create endpointslice for %s: %w", owner, err)
		}
		t.record(owner, got.Name, parseRV(got.ResourceVersion))
	}
	for _, s := range p.Update {
		got, err := api(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("update endpointslice %s/%s: %w", s.Namespace, s.Name, err)
		}
		t.record(owner, got.Name, parseRV(got.ResourceVersion))
	}
	for _, s := range p.Delete {
		err := api(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpointslice %s/%s: %w", s.Namespace, s.Name, err)
		}
		t.record(owner, s.Name, 0)
	}
	return nil
}
