// Package endpointslice holds the two controllers that write
// discovery.k8s.io/v1 EndpointSlices, as Kubernetes'
// pkg/controller/endpointslice and pkg/controller/endpointslicemirroring
// do.
//
// # Controller (managed-by endpointslice-controller.k8s.io)
//
// For every Service with a selector (ExternalName ones excepted) it keeps
// EndpointSlices named "<service>-<random>" (generateName), labelled
// kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by,
// owned by the Service, each with at most 100 endpoints of one address
// type (IPv4) and one port set (named targetPorts are resolved per pod, so
// pods resolving them differently land in different slices). Each endpoint has its pod's
// address, conditions ready/serving/terminating (terminating pods stay, not
// ready unless publishNotReadyAddresses), nodeName, hostname (when the
// pod's subdomain is the service) and a targetRef. A service without
// endpoints gets one empty placeholder slice. Changes keep endpoints in the
// slice they are in and fill slices being written anyway before creating
// new ones, so a single pod change is a single slice write.
//
// # Mirroring (managed-by endpointslicemirroring-controller.k8s.io)
//
// For every selector-less Service whose Endpoints were written by hand it
// mirrors the Endpoints into EndpointSlices (addresses ready, notReady
// addresses not ready), owned by the Endpoints object; Endpoints labelled
// endpointslice.kubernetes.io/skip-mirror=true are skipped.
//
// # Files
//
//   - controller.go, mirroring.go: New/NewMirroring, Run, informer
//     handlers.
//   - desired.go: pure computation of the wanted endpoints, grouped by
//     port set, from a service and its pods or from an Endpoints object.
//   - reconcile.go: the pure plan (create/update/delete) that turns the
//     existing slices into the wanted ones; tested by tables.
//   - apply.go: writing a plan, and the tracker that keeps a stale
//     informer cache from causing duplicate slices.
//
// It talks to the API only through client-go and imports only k8s.io
// packages.
package endpointslice
