package openapi

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/cached"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/openapiconv"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Resource is one served resource, as the API server registers it.
type Resource struct {
	GVK          schema.GroupVersionKind // e.g. apps/v1 Deployment
	Resource     string                  // plural, e.g. "deployments"
	Namespaced   bool
	Verbs        []string // get list watch create update patch delete deletecollection
	Subresources []string // e.g. "status", "scale" (autoscaling/v1 Scale), "binding", "eviction", "log"
}

// infoVersion is the version reported in the documents' info block.
const infoVersion = "v1.37.2"

// Documents holds the OpenAPI documents of a fixed set of resources and
// serves them. It is safe for concurrent use.
type Documents struct {
	// swagger is the complete v2 document; it and the per group-version
	// v3 documents are never modified after New returns.
	swagger *spec.Swagger
	// groupVersions are the v3 document keys ("api/v1", "apis/apps/v1").
	groupVersions []string
	mux           *http.ServeMux

	scheme    *runtime.Scheme
	resources []Resource
	// prepareOnce guards the lazy completion of swagger's definitions;
	// every reader of the definitions calls prepare first.
	prepareOnce sync.Once
}

// New builds the documents for resources, whose kinds (and the kinds of
// their subresources and lists) must be registered in scheme. Schemas and
// paths are built here; serialization happens on the first request of each
// document and is cached.
func New(scheme *runtime.Scheme, resources []Resource) (*Documents, error) {
	b := newSchemaBuilder()
	gvks := map[string][]schema.GroupVersionKind{}
	defName := func(gvk schema.GroupVersionKind) (string, error) {
		obj, err := scheme.New(gvk)
		if err != nil {
			return "", fmt.Errorf("openapi for %s: %w", gvk, err)
		}
		name := b.define(reflect.TypeOf(obj).Elem())
		if !slices.Contains(gvks[name], gvk) {
			gvks[name] = append(gvks[name], gvk)
		}
		return name, nil
	}
	pb := &pathBuilder{paths: map[string]spec.PathItem{}, defName: defName}
	servedGVs := map[schema.GroupVersion]bool{}
	for _, r := range resources {
		if err := pb.add(r); err != nil {
			return nil, err
		}
		servedGVs[r.GVK.GroupVersion()] = true
	}
	// Like kube-apiserver: the meta kinds every group version serves carry
	// that group version in x-kubernetes-group-version-kind.
	for gv := range servedGVs {
		for _, kind := range []string{"DeleteOptions", "WatchEvent"} {
			if _, err := defName(gv.WithKind(kind)); err != nil {
				return nil, err
			}
		}
	}
	for _, gvk := range []schema.GroupVersionKind{{Version: "v1", Kind: "Status"}} {
		if _, err := defName(gvk); err != nil {
			return nil, err
		}
	}
	b.define(reflect.TypeFor[patchBody]())
	for name, list := range gvks {
		slices.SortFunc(list, func(a, b schema.GroupVersionKind) int {
			return strings.Compare(a.String(), b.String())
		})
		ext := make([]interface{}, 0, len(list))
		for _, gvk := range list {
			ext = append(ext, gvkExtension(gvk))
		}
		s := b.defs[name]
		s.AddExtension("x-kubernetes-group-version-kind", ext)
		b.defs[name] = s
	}

	d := &Documents{mux: http.NewServeMux(), scheme: scheme, resources: slices.Clone(resources)}
	d.swagger = &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: infoVersion}},
		Paths:       &spec.Paths{Paths: pb.paths},
		Definitions: b.defs,
		SecurityDefinitions: spec.SecurityDefinitions{"BearerToken": &spec.SecurityScheme{SecuritySchemeProps: spec.SecuritySchemeProps{
			Type: "apiKey", Name: "authorization", In: "header",
			Description: "Bearer Token authentication",
		}}},
		Security: []map[string][]string{{"BearerToken": {}}},
	}}

	d.mux.Handle("/openapi/v2", newV2Handler(func() *spec.Swagger {
		d.prepare()
		return d.swagger
	}))

	v3 := handler3.NewOpenAPIService()
	for gv := range servedGVs {
		key := gvPath(gv)
		d.groupVersions = append(d.groupVersions, key)
		v3.UpdateGroupVersionLazy(key, cached.Once(cached.Func(func() (*spec3.OpenAPI, string, error) {
			return d.groupVersionV3(key), "v3", nil
		})))
	}
	slices.Sort(d.groupVersions)
	if err := v3.RegisterOpenAPIV3VersionedService("/openapi/v3", muxByGroupVersion{d.mux}); err != nil {
		return nil, fmt.Errorf("register openapi v3: %w", err)
	}
	return d, nil
}

// prepare completes the definitions with the list and map markers, which
// are too slow to read at start-up. Without them the documents are still
// usable (they only lose x-kubernetes-list-type and friends), so a failure
// is not fatal.
func (d *Documents) prepare() {
	d.prepareOnce.Do(func() {
		if s, err := smdSchema(d.scheme, d.resources); err == nil {
			applyListTypes(d.swagger.Definitions, s)
		}
	})
}

// patchBody stands for the body of a PATCH request; its definition name is
// the one kube-apiserver uses.
type patchBody struct{}

func (patchBody) OpenAPIModelName() string { return defPatch }

// GroupVersions lists the keys of the v3 documents ("api/v1",
// "apis/apps/v1", ...), sorted.
func (d *Documents) GroupVersions() []string { return slices.Clone(d.groupVersions) }

// ServeHTTP serves /openapi/v2, /openapi/v3 and /openapi/v3/<group-version>.
// Unknown group versions get 404.
func (d *Documents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if gv, ok := strings.CutPrefix(r.URL.Path, "/openapi/v3/"); ok && !slices.Contains(d.groupVersions, gv) {
		http.Error(w, fmt.Sprintf("no openapi v3 document for %q", gv), http.StatusNotFound)
		return
	}
	d.mux.ServeHTTP(w, r)
}

// groupVersionV3 derives the v3 document of one group version from the v2
// document: its paths and the definitions they reach.
func (d *Documents) groupVersionV3(key string) *spec3.OpenAPI {
	d.prepare()
	prefix := "/" + key + "/"
	paths := map[string]spec.PathItem{}
	var refs []string
	for p, item := range d.swagger.Paths.Paths {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		paths[p] = item
		refs = appendPathRefs(refs, item)
	}
	defs := spec.Definitions{}
	for len(refs) > 0 {
		name := refs[len(refs)-1]
		refs = refs[:len(refs)-1]
		if _, done := defs[name]; done {
			continue
		}
		s, ok := d.swagger.Definitions[name]
		if !ok {
			continue
		}
		defs[name] = s
		refs = appendSchemaRefs(refs, &s)
	}
	sw := *d.swagger
	sw.Paths = &spec.Paths{Paths: paths}
	sw.Definitions = defs
	return openapiconv.ConvertV2ToV3(&sw)
}

// muxByGroupVersion adapts a ServeMux to kube-openapi's handler interface.
type muxByGroupVersion struct{ *http.ServeMux }

func (m muxByGroupVersion) HandlePrefix(path string, h http.Handler) { m.Handle(path, h) }
