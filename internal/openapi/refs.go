package openapi

import (
	"strings"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// appendSchemaRefs appends the definition names s refers to, directly or
// through nested inline schemas.
func appendSchemaRefs(refs []string, s *spec.Schema) []string {
	if s == nil {
		return refs
	}
	if name, ok := strings.CutPrefix(s.Ref.String(), v2RefPrefix); ok {
		refs = append(refs, name)
	}
	for _, p := range s.Properties {
		refs = appendSchemaRefs(refs, &p)
	}
	if s.Items != nil {
		refs = appendSchemaRefs(refs, s.Items.Schema)
		for i := range s.Items.Schemas {
			refs = appendSchemaRefs(refs, &s.Items.Schemas[i])
		}
	}
	if s.AdditionalProperties != nil {
		refs = appendSchemaRefs(refs, s.AdditionalProperties.Schema)
	}
	for _, list := range [][]spec.Schema{s.AllOf, s.OneOf, s.AnyOf} {
		for i := range list {
			refs = appendSchemaRefs(refs, &list[i])
		}
	}
	return refs
}

// appendPathRefs appends the definition names the operations of item use
// in bodies and responses.
func appendPathRefs(refs []string, item spec.PathItem) []string {
	for _, o := range []*spec.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
		if o == nil {
			continue
		}
		for _, p := range o.Parameters {
			refs = appendSchemaRefs(refs, p.Schema)
		}
		if o.Responses != nil {
			for _, r := range o.Responses.StatusCodeResponses {
				refs = appendSchemaRefs(refs, r.Schema)
			}
		}
	}
	return refs
}
