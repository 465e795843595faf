// Package ownerref reconciles ControllerRefs between an owner and the
// objects its selector matches, as Kubernetes' ControllerRefManager does:
// matching orphans are adopted (ownerReferences controller=true,
// blockOwnerDeletion=true), owned objects that stop matching are released,
// and objects controlled by someone else are left alone.
//
// Adoption and release are strategic merge patches that carry the object's
// UID as a precondition. Before the first adoption the owner is re-read
// from the API (not a cache) so that an owner being deleted, or replaced by
// a namesake, never adopts.
//
// It imports only k8s.io packages.
package ownerref
