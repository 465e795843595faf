// Package validation checks objects written to skiff's API server the way
// Kubernetes' API server does, with the same field paths and messages, so
// that kubectl prints exactly what it prints for a real cluster
// (`The Deployment "x" is invalid: spec.template.metadata.labels: ...`).
//
// It ports kubernetes/pkg/apis/{core,apps,discovery,coordination,storage}/validation
// and the registry strategies' extra update rules (immutable selectors) onto
// the versioned k8s.io/api types skiff stores. Upstream validates internal
// types; paths and messages are the same for v1. Where an error carries a
// whole struct as its value, the rendering follows the v1 JSON names.
//
// # Contract
//
// [ValidateCreate], [ValidateUpdate] and [ValidateStatusUpdate] expect an
// object that has already been defaulted (package defaulting) and named
// (generateName resolved). They never panic, never mutate their arguments
// and return a nil or empty list for valid objects and unknown kinds.
// Presence of metadata.namespace on namespaced kinds is the API server's
// check, not this package's; a namespace that is set is validated.
//
// # Imports
//
// Only k8s.io/api, k8s.io/apimachinery and github.com/google/go-cmp (for the
// Pod update diff, as upstream).
package validation
