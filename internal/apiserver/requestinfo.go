package apiserver

import (
	"net/http"
	"strings"
)

// requestInfo is what a resource request addresses, parsed from its path:
//
//	/api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]]
//	/apis/GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]]
//
// "/api/v1/namespaces/NAME[/SUB]" addresses the namespace NAME itself.
type requestInfo struct {
	Group, Version string
	Namespace      string
	Resource       string
	Name           string
	Subresource    string
	// Verb is the Kubernetes verb: get list watch create update patch
	// delete deletecollection.
	Verb string
}

// parseRequestInfo parses a resource path; ok is false for paths that are
// not resource requests (discovery, health, OpenAPI).
func parseRequestInfo(r *http.Request) (requestInfo, bool) {
	path := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(path, "/")
	var ri requestInfo
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		ri.Version = parts[1]
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		ri.Group, ri.Version = parts[1], parts[2]
		parts = parts[3:]
	default:
		return ri, false
	}
	watchPath := false
	if parts[0] == "watch" {
		// The deprecated /watch/ path prefix.
		watchPath = true
		parts = parts[1:]
	}
	if len(parts) >= 2 && parts[0] == "namespaces" {
		if len(parts) >= 3 {
			ri.Namespace = parts[1]
			parts = parts[2:]
		} else {
			// /api/v1/namespaces/NAME: the namespace object itself.
			ri.Resource, ri.Name = "namespaces", parts[1]
			parts = nil
		}
	}
	if ri.Resource == "" && len(parts) > 0 {
		ri.Resource = parts[0]
		if len(parts) > 1 {
			ri.Name = parts[1]
		}
		if len(parts) > 2 {
			ri.Subresource = parts[2]
		}
		if len(parts) > 3 {
			return ri, false
		}
	}
	// /api/v1/namespaces/NAME/SUB was parsed as namespace NAME, resource SUB.
	if ri.Group == "" && ri.Namespace != "" && ri.Name == "" && (ri.Resource == "status" || ri.Resource == "finalize") {
		ri.Name, ri.Subresource, ri.Resource, ri.Namespace = ri.Namespace, ri.Resource, "namespaces", ""
	}
	if ri.Resource == "" {
		return ri, false
	}
	isWatch := watchPath || r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1"
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case ri.Name == "" && isWatch:
			ri.Verb = "watch"
		case ri.Name == "":
			ri.Verb = "list"
		case isWatch:
			// A watch of one object.
			ri.Verb = "watch"
		default:
			ri.Verb = "get"
		}
	case http.MethodPost:
		ri.Verb = "create"
	case http.MethodPut:
		ri.Verb = "update"
	case http.MethodPatch:
		ri.Verb = "patch"
	case http.MethodDelete:
		if ri.Name == "" {
			ri.Verb = "deletecollection"
		} else {
			ri.Verb = "delete"
		}
	default:
		ri.Verb = strings.ToLower(r.Method)
	}
	return ri, true
}
