package openapi

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/kube-openapi/pkg/validation/spec"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
)

// The +listType, +listMapKey and +mapType/+structType markers of k8s.io/api
// live in comments, not in struct tags, so reflection cannot see them.
// client-go carries them in the structured-merge-diff schema it uses for
// server-side apply; read them back from there.

// smdSchema returns the structured-merge-diff schema client-go ships,
// reached through a type converter for any kind the scheme serves.
// Parsing it costs ~200 ms once per process (shared with every other user
// of applyconfigurations.NewTypeConverter), so it is done lazily.
func smdSchema(scheme *runtime.Scheme, resources []Resource) (*smdschema.Schema, error) {
	tc := applyconfigurations.NewTypeConverter(scheme)
	var lastErr error = fmt.Errorf("no resources")
	for _, r := range resources {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(r.GVK)
		tv, err := tc.ObjectToTyped(u)
		if err != nil {
			lastErr = err
			continue
		}
		return tv.Schema(), nil
	}
	return nil, fmt.Errorf("structured-merge-diff schema: %w", lastErr)
}

// applyListTypes adds x-kubernetes-list-type, x-kubernetes-list-map-keys
// and x-kubernetes-map-type to defs where s declares them. Atomic lists
// are left unmarked: the schema does not tell an explicit +listType=atomic
// from the default, and Kubernetes only publishes the explicit ones.
func applyListTypes(defs spec.Definitions, s *smdschema.Schema) {
	for name, def := range defs {
		td, ok := s.FindNamedType(name)
		if !ok || td.Map == nil || def.Properties == nil {
			continue
		}
		if mt := mapType(td.Map.ElementRelationship); mt != "" {
			def.AddExtension("x-kubernetes-map-type", mt)
		}
		for _, f := range td.Map.Fields {
			prop, ok := def.Properties[f.Name]
			if !ok {
				continue
			}
			atom := f.Type.Inlined
			switch {
			case atom.List != nil && atom.List.ElementRelationship == smdschema.Associative:
				if len(atom.List.Keys) > 0 {
					prop.AddExtension("x-kubernetes-list-type", "map")
					prop.AddExtension("x-kubernetes-list-map-keys", append([]string(nil), atom.List.Keys...))
				} else {
					prop.AddExtension("x-kubernetes-list-type", "set")
				}
			case atom.Map != nil:
				if mt := mapType(atom.Map.ElementRelationship); mt != "" {
					prop.AddExtension("x-kubernetes-map-type", mt)
				}
			default:
				continue
			}
			def.Properties[f.Name] = prop
		}
		defs[name] = def
	}
}

func mapType(r smdschema.ElementRelationship) string {
	switch r {
	case smdschema.Atomic:
		return "atomic"
	case smdschema.Separable:
		return "granular"
	}
	return ""
}
