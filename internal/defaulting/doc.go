// Package defaulting fills the default values Kubernetes' API server gives to
// the versioned objects skiff serves, so that what a client reads back is what
// a real cluster would store.
//
// It ports the SetDefaults_* functions of kubernetes/pkg/apis/*/v1/defaults.go
// (as run by the generated SetObjectDefaults_* walkers, which also visit every
// nested PodSpec, Container, Probe, Volume, …) and the parts of the registry
// strategies' PrepareForCreate that are really defaulting (Secret stringData
// merged into data, Service clusterIP/clusterIPs kept in sync, Pod status
// phase and QoS class, Namespace phase).
//
// # Contract
//
// [Default] mutates its argument in place, never panics, and is idempotent:
// Default(Default(x)) == Default(x). Kinds it does not know are left alone.
// Pod templates inside workloads get exactly the pod-spec defaults a
// ReplicaSet template gets, so a Deployment's template and the template of
// the ReplicaSet made from it stay equal. Defaults that Kubernetes applies
// only to Pods (requests copied from limits, enableServiceLinks, hostPort
// for hostNetwork pods) are not applied to templates, as upstream.
//
// # What is not here
//
// Allocation (Service cluster IPs, node ports), admission (service account
// token volumes, default service account name, namespace lifecycle) and
// create-only resets (status cleared on create, Namespace spec.finalizers)
// belong to the API server, which knows whether a write is a create.
//
// # Imports
//
// Only k8s.io/api and k8s.io/apimachinery.
package defaulting
