// Package garbagecollector is skiff's garbage collector: it gives
// metadata.ownerReferences and the deletion propagation policies their
// Kubernetes meaning.
//
// # What it does
//
//   - Background: an object all of whose owners are gone (absent, or another
//     object with a different UID now holds the owner's name; always checked
//     with a live GET) is deleted.
//   - Orphan: an owner being deleted with the "orphan" finalizer loses its
//     ownerReferences from every dependent, then the finalizer.
//   - Foreground: an owner being deleted with the "foregroundDeletion"
//     finalizer has its dependents deleted; the finalizer is removed once no
//     dependent with blockOwnerDeletion=true is left.
//
// # How
//
// Every served resource that supports list, watch and delete (found through
// discovery, rediscovered periodically) is watched with a metadata-only
// informer. The event handlers keep an owner→dependents graph keyed by UID
// (graph.go, pure and table-tested) and decide which objects need a look;
// workers then act on the live state through client-go, so the graph may
// lag without making a wrong deletion: deletions are only decided after a
// live GET and carry a UID precondition.
//
// # Imports
//
// Only k8s.io/* (client-go, apimachinery, api). It never imports other skiff
// components; it meets them through the API.
package garbagecollector
