// Package replicaset is the ReplicaSet controller: it keeps the number of
// active pods that a ReplicaSet controls equal to spec.replicas, as
// Kubernetes' pkg/controller/replicaset does.
//
// # Behaviour
//
//   - Pods are created from spec.template with generateName "<rs>-" and a
//     ControllerRef, in slow-start batches (1, 2, 4, …, at most 500 per
//     sync), stopping at the first error.
//   - Expectations: after creating or deleting pods the controller waits to
//     observe them through the pod informer before it acts on that
//     ReplicaSet again, so a stale cache never makes it overshoot (an
//     expectation expires after five minutes).
//   - Matching orphans are adopted and owned pods that stop matching the
//     selector are released (package ownerref).
//   - Surplus pods are deleted in Kubernetes' order (see podsToDelete):
//     unassigned, pending, not ready, low deletion cost, doubled up on a
//     node, ready for less time, more restarts, newer first.
//   - Status: replicas, fullyLabeledReplicas, readyReplicas,
//     availableReplicas (ready for minReadySeconds), terminatingReplicas,
//     observedGeneration and the ReplicaFailure condition.
//
// It talks to the API only through client-go (informers, listers, a
// workqueue) and imports k8s.io packages and skiff's controller/podcontrol
// and controller/ownerref.
package replicaset
