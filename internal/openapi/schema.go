package openapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"k8s.io/kube-openapi/pkg/util"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// v2RefPrefix is where OpenAPI v2 keeps named schemas; v3 documents are
// converted from v2 and get "#/components/schemas/" instead.
const v2RefPrefix = "#/definitions/"

// Interfaces the apimachinery types implement to describe their own wire
// form (metav1.Time, intstr.IntOrString, resource.Quantity, ...). The
// kube-openapi generator honours the same methods.
type (
	swaggerDoccer   interface{ SwaggerDoc() map[string]string }
	schemaTyper     interface{ OpenAPISchemaType() []string }
	schemaFormatter interface{ OpenAPISchemaFormat() string }
)

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	byteSliceType     = reflect.TypeFor[[]byte]()
)

// knownDescriptions describes the special apimachinery types, which have
// no SwaggerDoc of their own. Paraphrased from their Go doc comments.
var knownDescriptions = map[string]string{
	"io.k8s.apimachinery.pkg.api.resource.Quantity": "Quantity is a fixed-point representation of a number, serialized as a string: " +
		"a signed decimal number followed by an optional suffix, either a binary SI suffix (Ki, Mi, Gi, Ti, Pi, Ei), " +
		"a decimal SI suffix (n, u, m, \"\", k, M, G, T, P, E) or a decimal exponent (e or E followed by a signed number). " +
		"Examples: \"100m\", \"1.5Gi\", \"2e3\". The canonical form is used when the value is written back.",
	"io.k8s.apimachinery.pkg.util.intstr.IntOrString": "IntOrString is a type that can hold an int32 or a string. " +
		"When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.Time": "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON. " +
		"It is serialized in RFC 3339 form.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "MicroTime is version of Time with microsecond level precision.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.Duration":  "Duration is a wrapper around time.Duration which supports correct marshaling to YAML and JSON, written as a Go duration string such as \"1h2m3s\".",
	"io.k8s.apimachinery.pkg.runtime.RawExtension": "RawExtension is used to hold an embedded object of arbitrary kind, " +
		"serialized as the JSON of that object (including its apiVersion and kind).",
	"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.Patch":    "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
}

// schemaBuilder turns Go types into named OpenAPI v2 schemas. Every named
// struct type becomes one definition; fields refer to it by $ref, which
// keeps recursive types (JSONSchemaProps) finite.
type schemaBuilder struct {
	defs  spec.Definitions
	names map[reflect.Type]string
}

func newSchemaBuilder() *schemaBuilder {
	return &schemaBuilder{defs: spec.Definitions{}, names: map[reflect.Type]string{}}
}

// modelName is the definition name Kubernetes uses for t: the generated
// OpenAPIModelName when there is one, else the REST-friendly form of the
// Go package path ("k8s.io/api/core/v1.Pod" -> "io.k8s.api.core.v1.Pod").
func modelName(t reflect.Type) string {
	if n, ok := reflect.Zero(t).Interface().(util.OpenAPIModelNamer); ok {
		return n.OpenAPIModelName()
	}
	if n, ok := reflect.New(t).Interface().(util.OpenAPIModelNamer); ok {
		return n.OpenAPIModelName()
	}
	return util.ToRESTFriendlyName(t.PkgPath() + "." + t.Name())
}

// define makes sure the named struct type t has a definition and returns
// its name.
func (b *schemaBuilder) define(t reflect.Type) string {
	if name, ok := b.names[t]; ok {
		return name
	}
	name := modelName(t)
	b.names[t] = name
	// Reserve the name first: the fields of t may refer back to t.
	b.defs[name] = spec.Schema{}
	b.defs[name] = b.structSchema(t, name)
	return name
}

// structSchema builds the definition body of a named struct type.
func (b *schemaBuilder) structSchema(t reflect.Type, name string) spec.Schema {
	var s spec.Schema
	zero := reflect.New(t).Elem().Interface()
	s.Description = knownDescriptions[name]
	if d, ok := zero.(swaggerDoccer); ok {
		if doc := d.SwaggerDoc()[""]; doc != "" {
			s.Description = doc
		}
	}
	if typer, ok := zero.(schemaTyper); ok {
		// The type serializes itself as a scalar (Time, Quantity, ...).
		s.Type = typer.OpenAPISchemaType()
		if f, ok := zero.(schemaFormatter); ok {
			s.Format = f.OpenAPISchemaFormat()
		}
		if s.Format == "int-or-string" {
			s.AddExtension("x-kubernetes-int-or-string", true)
		}
		return s
	}
	if t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType) {
		// Opaque JSON (RawExtension, FieldsV1): any object.
		s.Type = spec.StringOrArray{"object"}
		return s
	}
	s.Type = spec.StringOrArray{"object"}
	s.Properties = map[string]spec.Schema{}
	b.addFields(&s, t)
	if len(s.Properties) == 0 {
		s.Properties = nil
	}
	return s
}

// addFields adds the json fields of struct t to s, flattening inline
// (embedded) structs as encoding/json does.
func (b *schemaBuilder) addFields(s *spec.Schema, t reflect.Type) {
	var docs map[string]string
	if d, ok := reflect.New(t).Elem().Interface().(swaggerDoccer); ok {
		docs = d.SwaggerDoc()
	}
	var optional, required []string
	if t.Name() != "" {
		owner := modelName(t)
		optional, required = optionalFields[owner], requiredFields[owner]
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		inline := strings.Contains(","+opts+",", ",inline,") || (f.Anonymous && name == "")
		if inline {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.addFields(s, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		prop := b.typeSchema(f.Type)
		if doc := docs[name]; doc != "" {
			prop.Description = doc
		}
		if v := f.Tag.Get("patchStrategy"); v != "" {
			prop.AddExtension("x-kubernetes-patch-strategy", v)
		}
		if v := f.Tag.Get("patchMergeKey"); v != "" {
			prop.AddExtension("x-kubernetes-patch-merge-key", v)
		}
		s.Properties[name] = prop
		// The kube-openapi generator's rule: a +required or +optional
		// comment marker decides (see markers_gen.go), else a field that
		// is always written (no omitempty) is required.
		omitted := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		if slices.Contains(required, name) || (!omitted && !slices.Contains(optional, name)) {
			s.Required = append(s.Required, name)
		}
	}
}

// typeSchema is the schema of a value of type t used as a field, array
// item or map value: a $ref for named structs, an inline schema otherwise.
func (b *schemaBuilder) typeSchema(t reflect.Type) spec.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == byteSliceType || (t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8) {
		return *spec.StrFmtProperty("byte")
	}
	switch t.Kind() {
	case reflect.Struct:
		if t.Name() == "" {
			var s spec.Schema
			s.Type = spec.StringOrArray{"object"}
			s.Properties = map[string]spec.Schema{}
			b.addFields(&s, t)
			return s
		}
		return *spec.RefProperty(v2RefPrefix + b.define(t))
	case reflect.String:
		return *spec.StringProperty()
	case reflect.Bool:
		return *spec.BooleanProperty()
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16:
		return *spec.Int32Property()
	case reflect.Int64, reflect.Uint32, reflect.Uint64:
		return *spec.Int64Property()
	case reflect.Int, reflect.Uint:
		var s spec.Schema
		s.Type = spec.StringOrArray{"integer"}
		return s
	case reflect.Float32:
		return *spec.Float32Property()
	case reflect.Float64:
		return *spec.Float64Property()
	case reflect.Slice, reflect.Array:
		items := b.typeSchema(t.Elem())
		return *spec.ArrayProperty(&items)
	case reflect.Map:
		v := b.typeSchema(t.Elem())
		return *spec.MapProperty(&v)
	default:
		// Interfaces and anything exotic: an arbitrary JSON object.
		var s spec.Schema
		s.Type = spec.StringOrArray{"object"}
		return s
	}
}
