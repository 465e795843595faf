// Package namespace is skiff's namespace controller: it empties a namespace
// that is being deleted and then releases it.
//
// When a namespace has a deletionTimestamp and still holds the "kubernetes"
// finalizer in spec.finalizers, the controller deletes every object of every
// served namespaced resource in it (deletecollection where served, else
// list and delete one by one, propagationPolicy Background), looks again
// until nothing is left (pods with grace periods and objects with
// finalizers take time: the namespace is requeued with backoff), and then
// removes "kubernetes" through the namespaces/finalize subresource, upon
// which the API server removes the namespace. On the way it reports
// progress in status.conditions as Kubernetes does
// (NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure,
// NamespaceDeletionContentFailure, NamespaceContentRemaining,
// NamespaceFinalizersRemaining).
//
// It talks to the API only through client-go and imports only k8s.io/*.
package namespace
