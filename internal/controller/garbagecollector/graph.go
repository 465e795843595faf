package garbagecollector

import (
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// identity names one observed object: the resource it was seen through and
// its coordinates.
type identity struct {
	Resource   schema.GroupVersionResource
	Kind       string
	Namespace  string
	Name       string
	UID        types.UID
	Namespaced bool
}

func (id identity) String() string {
	if id.Namespace == "" {
		return id.Resource.Resource + "/" + id.Name
	}
	return id.Resource.Resource + "/" + id.Namespace + "/" + id.Name
}

// node is what the graph keeps of one observed object.
type node struct {
	id     identity
	owners []metav1.OwnerReference
	// beingDeleted: deletionTimestamp is set.
	beingDeleted bool
	// deletingDependents: being deleted with the foregroundDeletion
	// finalizer (the owner waits for its blocking dependents).
	deletingDependents bool
	// orphaning: being deleted with the orphan finalizer.
	orphaning bool
}

// observed is one object as an informer delivers it.
type observed struct {
	id                identity
	owners            []metav1.OwnerReference
	deletionTimestamp bool
	finalizers        []string
}

func newNode(o observed) *node {
	return &node{
		id:                 o.id,
		owners:             o.owners,
		beingDeleted:       o.deletionTimestamp,
		deletingDependents: o.deletionTimestamp && slices.Contains(o.finalizers, metav1.FinalizerDeleteDependents),
		orphaning:          o.deletionTimestamp && slices.Contains(o.finalizers, metav1.FinalizerOrphanDependents),
	}
}

// work is what a graph change asks the workers to look at: objects to
// check for deletion (dangling dependents, owners waiting for their
// dependents) and owners to orphan their dependents.
type work struct {
	attemptToDelete []types.UID
	attemptToOrphan []types.UID
}

func (w *work) del(uid types.UID) {
	if !slices.Contains(w.attemptToDelete, uid) {
		w.attemptToDelete = append(w.attemptToDelete, uid)
	}
}

// graph is the owner→dependents relation of every observed object. It is
// safe for concurrent use. The dependents index is keyed by owner UID
// whether or not the owner itself is observed, so that a dependent seen
// before its owner (or after its owner is gone) is still found.
type graph struct {
	mu         sync.Mutex
	nodes      map[types.UID]*node                  // guarded by mu
	dependents map[types.UID]map[types.UID]struct{} // owner UID → dependent UIDs; guarded by mu
}

func newGraph() *graph {
	return &graph{nodes: map[types.UID]*node{}, dependents: map[types.UID]map[types.UID]struct{}{}}
}

// observe records an added or updated object and returns the work it
// causes.
func (g *graph) observe(o observed) work {
	g.mu.Lock()
	defer g.mu.Unlock()
	var w work
	uid := o.id.UID
	prev := g.nodes[uid]
	n := newNode(o)
	g.nodes[uid] = n

	if n.orphaning {
		w.attemptToOrphan = append(w.attemptToOrphan, uid)
	}
	if n.deletingDependents {
		w.del(uid)
		if prev == nil || !prev.deletingDependents {
			for dep := range g.dependents[uid] {
				w.del(dep)
			}
		}
	}

	// Keep the dependents index in step with the owner references.
	var prevOwners []metav1.OwnerReference
	if prev != nil {
		prevOwners = prev.owners
	}
	for _, r := range prevOwners {
		if ownerRef(n.owners, r.UID) == nil {
			g.unlink(r.UID, uid)
		}
	}
	for _, r := range n.owners {
		g.link(r.UID, uid)
	}

	// A dependent needs a look when an owner is not observed (it may be
	// gone) or is waiting for its dependents to be deleted.
	for _, r := range n.owners {
		owner := g.nodes[r.UID]
		if owner == nil || owner.deletingDependents {
			w.del(uid)
			break
		}
	}
	// An owner waiting for its dependents needs a look when one of them
	// stops blocking it.
	for _, r := range prevOwners {
		owner := g.nodes[r.UID]
		if owner == nil || !owner.deletingDependents {
			continue
		}
		now := ownerRef(n.owners, r.UID)
		if now == nil || blocks(now) != blocks(&r) {
			w.del(r.UID)
		}
	}
	return w
}

// remove forgets a deleted object and returns the work it causes: its
// dependents may now be dangling, and its owners may be waiting for it.
func (g *graph) remove(uid types.UID) work {
	g.mu.Lock()
	defer g.mu.Unlock()
	var w work
	n := g.nodes[uid]
	if n == nil {
		return w
	}
	delete(g.nodes, uid)
	for _, r := range n.owners {
		g.unlink(r.UID, uid)
		if owner := g.nodes[r.UID]; owner != nil && owner.deletingDependents {
			w.del(r.UID)
		}
	}
	for dep := range g.dependents[uid] {
		w.del(dep)
	}
	return w
}

func (g *graph) link(owner, dep types.UID) {
	s := g.dependents[owner]
	if s == nil {
		s = map[types.UID]struct{}{}
		g.dependents[owner] = s
	}
	s[dep] = struct{}{}
}

func (g *graph) unlink(owner, dep types.UID) {
	s := g.dependents[owner]
	delete(s, dep)
	if len(s) == 0 {
		delete(g.dependents, owner)
	}
}

// get returns a copy of the node for uid.
func (g *graph) get(uid types.UID) (node, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.nodes[uid]
	if n == nil {
		return node{}, false
	}
	return *n, true
}

// dependentsOf returns the observed dependents of uid.
func (g *graph) dependentsOf(uid types.UID) []node {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []node
	for dep := range g.dependents[uid] {
		if n := g.nodes[dep]; n != nil {
			out = append(out, *n)
		}
	}
	return out
}

// blockingDependents returns the observed dependents of uid whose
// reference to it has blockOwnerDeletion=true.
func (g *graph) blockingDependents(uid types.UID) []node {
	var out []node
	for _, n := range g.dependentsOf(uid) {
		if r := ownerRef(n.owners, uid); r != nil && blocks(r) {
			out = append(out, n)
		}
	}
	return out
}

// hasDependents reports whether any observed object names uid as owner.
func (g *graph) hasDependents(uid types.UID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.dependents[uid]) > 0
}

func ownerRef(refs []metav1.OwnerReference, uid types.UID) *metav1.OwnerReference {
	for i := range refs {
		if refs[i].UID == uid {
			return &refs[i]
		}
	}
	return nil
}

func blocks(r *metav1.OwnerReference) bool {
	return r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion
}
