// Package endpoints is the Endpoints controller: for every Service with a
// selector it keeps a core/v1 Endpoints object of the same name listing the
// pods the selector matches, as Kubernetes' pkg/controller/endpoint does.
//
// # Behaviour
//
//   - Ready pods go to subsets[].addresses, not-ready ones to
//     notReadyAddresses; spec.publishNotReadyAddresses puts every pod in
//     addresses and keeps terminating pods.
//   - Pods without an IP, terminal pods (Succeeded/Failed) and, unless
//     publishNotReadyAddresses, terminating pods are left out.
//   - Ports are resolved per pod: a named targetPort is looked up in the
//     pod's container ports (same protocol); a pod lacking it is left out
//     of that port only. A headless service without ports lists addresses
//     with no ports.
//   - Addresses carry hostname (when pod.spec.subdomain names the
//     service), nodeName and a targetRef to the pod.
//   - Subsets are repacked as endpoints.RepackSubsets does: addresses that
//     offer the same set of ports share one subset; everything is sorted so
//     that an unchanged world never causes a write.
//   - At most 1000 addresses are kept (ready ones first); the object is
//     then annotated endpoints.kubernetes.io/over-capacity=truncated.
//   - Labels are the service's plus service.kubernetes.io/headless for
//     headless services; endpoints.kubernetes.io/last-change-trigger-time
//     is set on every write.
//   - Services without a selector are left alone: their Endpoints are the
//     user's. The Endpoints object is deleted when its Service goes.
//
// # Files
//
//   - controller.go: New, Run, informer handlers, the work loop.
//   - sync.go: one service's sync (read caches, compute, write).
//   - subsets.go: pure computation of subsets from a service and pods,
//     and the repacking; tested by tables.
//
// It talks to the API only through client-go (informers, listers, a
// workqueue) and imports only k8s.io packages.
package endpoints
