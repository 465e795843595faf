// Package openapi builds and serves the OpenAPI v2 and v3 documents of
// skiff's API server.
//
// The documents carry real schemas for every served kind. They are derived
// by reflection from the Go types registered in a [runtime.Scheme] (the
// types of k8s.io/api and k8s.io/apimachinery): field names come from json
// tags, descriptions from the generated SwaggerDoc methods, required
// fields by the kube-openapi rule (no omitempty, unless a +optional or
// +required comment marker says otherwise; the markers are read from the
// k8s.io/api sources by internal/markergen into markers_gen.go), patch metadata
// (x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key) from struct
// tags, and list/map semantics (x-kubernetes-list-type and friends) from
// the structured-merge-diff schema that client-go ships for server-side
// apply. Definition names follow Kubernetes ("io.k8s.api.core.v1.Pod").
//
// kubectl depends on these documents: apply/create/replace fetch
// /openapi/v3 to learn that the server validates fields itself (a PATCH
// operation carrying x-kubernetes-group-version-kind and a fieldValidation
// query parameter), explain renders the v3 schemas, and client-side
// strategic merge reads the patch metadata.
//
// # Serving
//
// [Documents] handles /openapi/v2, /openapi/v3 and
// /openapi/v3/<api/v1|apis/group/version>. Documents are built on the first
// request and their serialized bytes cached; the handlers of
// k8s.io/kube-openapi (handler, handler3) do content negotiation (JSON or
// protobuf), ETags and the immutable caching of ?hash= URLs.
//
// # Imports
//
// This package may import k8s.io/apimachinery, k8s.io/kube-openapi,
// k8s.io/client-go/applyconfigurations, structured-merge-diff, and the
// gnostic-models, goautoneg and protobuf modules kube-openapi itself uses.
// It must not import other skiff packages.
//
// # Caveats
//
// The first request builds the structured-merge-diff schema (~200 ms, once
// per process) and serializes the documents; New itself takes a few
// milliseconds. Enum values and defaults, which Kubernetes publishes from
// comment markers, are not part of the schemas.
package openapi

//go:generate sh -c "go run ./internal/markergen $(go list -m -f '{{.Dir}}' k8s.io/api)=k8s.io/api $(go list -m -f '{{.Dir}}' k8s.io/apimachinery)/pkg/apis/meta=k8s.io/apimachinery/pkg/apis/meta"
