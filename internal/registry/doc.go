// Package registry gives every served resource its Kubernetes semantics on
// top of package storage: which kinds exist (Kinds), how an object is
// prepared, defaulted, validated and versioned on create and update, how it
// is deleted (graceful deletion, finalizers, propagation policies), how lists
// and watches are filtered by label and field selectors, and the
// subresources (status, scale, binding, eviction).
//
// It knows nothing of HTTP: the API server decodes requests, calls a Store
// and encodes what it returns. Errors are k8s.io/apimachinery StatusErrors
// (apierrors) so that the HTTP edge can answer with the right Status.
//
// It may import storage, defaulting, validation and k8s.io/*; never
// apiserver or any component.
package registry
