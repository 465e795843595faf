// Package apiserver is the HTTP edge of skiff's control plane: it speaks
// the Kubernetes API (paths, verbs, content negotiation, Status errors,
// discovery, OpenAPI, Tables, watch streams, patches and server-side apply)
// over the stores of package registry.
//
// Requests are parsed into a requestInfo, authenticated, decoded with the
// codecs of the registry's scheme and handed to a registry.Store; results
// are encoded as the client asked (JSON, YAML, protobuf, Table or
// PartialObjectMetadata). Errors become metav1.Status here and nowhere else.
//
// It may import registry, openapi, printers and k8s.io/*; never a
// controller or the node agent.
package apiserver
