package garbagecollector

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func obj(uid types.UID, owners ...metav1.OwnerReference) observed {
	return observed{id: identity{Name: string(uid), UID: uid, Namespace: "default", Namespaced: true}, owners: owners}
}

func deleting(o observed, finalizers ...string) observed {
	o.deletionTimestamp = true
	o.finalizers = finalizers
	return o
}

func owner(uid types.UID, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{UID: uid, Name: string(uid), Kind: "ConfigMap", APIVersion: "v1", BlockOwnerDeletion: &block}
}

func TestGraphWork(t *testing.T) {
	type step struct {
		observe *observed
		remove  types.UID
	}
	tests := []struct {
		name       string
		setup      []step
		last       step
		wantDelete []types.UID
		wantOrphan []types.UID
	}{
		{
			name:       "dependent of an unseen owner is checked",
			last:       step{observe: new(obj("d", owner("o", false)))},
			wantDelete: []types.UID{"d"},
		},
		{
			name:  "dependent of a seen owner is left alone",
			setup: []step{{observe: new(obj("o"))}},
			last:  step{observe: new(obj("d", owner("o", false)))},
		},
		{
			name:       "owner removed: its dependents are checked",
			setup:      []step{{observe: new(obj("o"))}, {observe: new(obj("d1", owner("o", false)))}, {observe: new(obj("d2", owner("o", true)))}},
			last:       step{remove: "o"},
			wantDelete: []types.UID{"d1", "d2"},
		},
		{
			name:       "owner deleted with orphan finalizer is orphaned",
			setup:      []step{{observe: new(obj("o"))}, {observe: new(obj("d", owner("o", false)))}},
			last:       step{observe: new(deleting(obj("o"), metav1.FinalizerOrphanDependents))},
			wantOrphan: []types.UID{"o"},
		},
		{
			name:       "owner entering foreground deletion: it and its dependents are checked",
			setup:      []step{{observe: new(obj("o"))}, {observe: new(obj("d", owner("o", true)))}},
			last:       step{observe: new(deleting(obj("o"), metav1.FinalizerDeleteDependents))},
			wantDelete: []types.UID{"o", "d"},
		},
		{
			name: "blocking dependent gone: the waiting owner is checked",
			setup: []step{{observe: new(obj("o"))}, {observe: new(obj("d", owner("o", true)))},
				{observe: new(deleting(obj("o"), metav1.FinalizerDeleteDependents))}},
			last:       step{remove: "d"},
			wantDelete: []types.UID{"o"},
		},
		{
			name: "dependent stops blocking: the waiting owner is checked",
			setup: []step{{observe: new(obj("o"))}, {observe: new(obj("d", owner("o", true), owner("p", false)))},
				{observe: new(obj("p"))},
				{observe: new(deleting(obj("o"), metav1.FinalizerDeleteDependents))}},
			last:       step{observe: new(obj("d", owner("p", false)))},
			wantDelete: []types.UID{"o"},
		},
		{
			name:  "background deletion of an owner causes no work until it is gone",
			setup: []step{{observe: new(obj("o"))}, {observe: new(obj("d", owner("o", true)))}},
			last:  step{observe: new(deleting(obj("o"), "example.com/other"))},
		},
		{
			name:  "removing an unknown object is a no-op",
			setup: []step{{observe: new(obj("o"))}},
			last:  step{remove: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			run := func(s step) work {
				if s.observe != nil {
					return g.observe(*s.observe)
				}
				return g.remove(s.remove)
			}
			for _, s := range tt.setup {
				run(s)
			}
			w := run(tt.last)
			slices.Sort(w.attemptToDelete)
			slices.Sort(tt.wantDelete)
			if !slices.Equal(w.attemptToDelete, tt.wantDelete) {
				t.Errorf("attemptToDelete = %v, want %v", w.attemptToDelete, tt.wantDelete)
			}
			if !slices.Equal(w.attemptToOrphan, tt.wantOrphan) {
				t.Errorf("attemptToOrphan = %v, want %v", w.attemptToOrphan, tt.wantOrphan)
			}
		})
	}
}

func TestGraphIndex(t *testing.T) {
	g := newGraph()
	g.observe(obj("d1", owner("o", true)))
	g.observe(obj("d2", owner("o", false)))
	if got := len(g.dependentsOf("o")); got != 2 {
		t.Fatalf("dependents of unseen owner = %d, want 2", got)
	}
	if b := g.blockingDependents("o"); len(b) != 1 || b[0].id.UID != "d1" {
		t.Fatalf("blocking dependents = %v, want d1", b)
	}
	g.observe(obj("d1")) // d1 drops its reference
	if b := g.blockingDependents("o"); len(b) != 0 {
		t.Fatalf("blocking dependents after update = %v, want none", b)
	}
	g.remove("d2")
	if g.hasDependents("o") {
		t.Fatalf("o still has dependents: %v", g.dependentsOf("o"))
	}
	if len(g.dependents) != 0 {
		t.Fatalf("index not cleaned up: %v", g.dependents)
	}
}
