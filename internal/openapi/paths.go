package openapi

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Media types kube-apiserver lists on its operations.
var (
	mediaObject = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	mediaList   = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
		"application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"}
	mediaWatch = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
		"application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"}
	mediaPatch = []string{"application/json-patch+json", "application/merge-patch+json",
		"application/strategic-merge-patch+json", "application/apply-patch+yaml"}
	mediaText = []string{"text/plain", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
)

// Definition names of the meta types the operations refer to.
const (
	defStatus        = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
	defDeleteOptions = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
	defWatchEvent    = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"
	defPatch         = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
)

// subresourceKinds maps the subresources whose body is not the parent
// kind to the kind kube-apiserver serves there.
var subresourceKinds = map[string]schema.GroupVersionKind{
	"scale":       {Group: "autoscaling", Version: "v1", Kind: "Scale"},
	"binding":     {Version: "v1", Kind: "Binding"},
	"eviction":    {Group: "policy", Version: "v1", Kind: "Eviction"},
	"exec":        {Version: "v1", Kind: "PodExecOptions"},
	"attach":      {Version: "v1", Kind: "PodAttachOptions"},
	"portforward": {Version: "v1", Kind: "PodPortForwardOptions"},
	"log":         {Version: "v1", Kind: "Pod"},
}

// gvPath is the URL prefix of a group version: "api/v1" or "apis/apps/v1"
// (without the leading slash, as /openapi/v3 names them).
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// groupCamel is the group as it appears in operation IDs:
// "" -> "Core", "rbac.authorization.k8s.io" -> "RbacAuthorization".
func groupCamel(group string) string {
	if group == "" {
		return "Core"
	}
	group = strings.TrimSuffix(group, ".k8s.io")
	var b strings.Builder
	for _, part := range strings.Split(group, ".") {
		b.WriteString(upperFirst(part))
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func gvkExtension(gvk schema.GroupVersionKind) map[string]interface{} {
	return map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

// pathBuilder emits the v2 operations of the served resources.
type pathBuilder struct {
	paths map[string]spec.PathItem
	// defName resolves a GVK to the definition name of its Go type.
	defName func(schema.GroupVersionKind) (string, error)
}

// op is one operation being described.
type op struct {
	verb     string // operation ID verb: read, list, create, ...
	action   string // x-kubernetes-action
	desc     string
	gv       schema.GroupVersion
	gvk      schema.GroupVersionKind
	idSuffix string // namespaced kind, subresource, ForAllNamespaces ...
	produces []string
	consumes []string
	params   []spec.Parameter
	respDef  string // definition name of the 200 response; "" for a string
	codes    []int
}

func (o op) build() *spec.Operation {
	g := groupCamel(o.gv.Group)
	res := &spec.Operation{}
	res.ID = o.verb + g + upperFirst(o.gv.Version) + o.idSuffix
	res.Description = o.desc
	res.Tags = []string{lowerFirst(g) + "_" + o.gv.Version}
	res.Schemes = []string{"https"}
	res.Consumes = o.consumes
	if res.Consumes == nil {
		res.Consumes = []string{"*/*"}
	}
	res.Produces = o.produces
	res.Parameters = o.params
	var s *spec.Schema
	if o.respDef == "" {
		s = spec.StringProperty()
	} else {
		s = spec.RefSchema(v2RefPrefix + o.respDef)
	}
	res.Responses = &spec.Responses{}
	res.Responses.StatusCodeResponses = map[int]spec.Response{}
	codes := o.codes
	if codes == nil {
		codes = []int{200}
	}
	text := map[int]string{200: "OK", 201: "Created", 202: "Accepted"}
	for _, c := range codes {
		r := spec.Response{}
		r.Description = text[c]
		r.Schema = s
		res.Responses.StatusCodeResponses[c] = r
	}
	res.Responses.StatusCodeResponses[401] = spec.Response{ResponseProps: spec.ResponseProps{Description: "Unauthorized"}}
	res.AddExtension("x-kubernetes-action", o.action)
	res.AddExtension("x-kubernetes-group-version-kind", gvkExtension(o.gvk))
	return res
}

// add emits all paths of one resource.
func (p *pathBuilder) add(r Resource) error {
	gv := r.GVK.GroupVersion()
	kindDef, err := p.defName(r.GVK)
	if err != nil {
		return err
	}
	listGVK := r.GVK.GroupVersion().WithKind(r.GVK.Kind + "List")
	listDef, listErr := p.defName(listGVK)
	prefix := "/" + gvPath(gv)
	scope, scopeParams := "", []spec.Parameter{}
	if r.Namespaced {
		scope = "Namespaced"
		scopeParams = []spec.Parameter{paramNamespace}
	}
	collection := prefix + "/" + r.Resource
	watchCollection := prefix + "/watch/" + r.Resource
	if r.Namespaced {
		collection = prefix + "/namespaces/{namespace}/" + r.Resource
		watchCollection = prefix + "/watch/namespaces/{namespace}/" + r.Resource
	}
	nameParam := param("path", "name", "string", "name of the "+r.GVK.Kind)
	itemParams := append(slices.Clone(scopeParams), nameParam)
	kind := r.GVK.Kind
	has := func(v string) bool { return slices.Contains(r.Verbs, v) }
	base := op{gv: gv, gvk: r.GVK, idSuffix: scope + kind, produces: mediaObject, respDef: kindDef}

	coll := spec.PathItem{}
	if has("list") && listErr == nil {
		o := base
		o.verb, o.action, o.desc = "list", "list", "list or watch objects of kind "+kind
		o.produces, o.respDef, o.params = mediaList, listDef, listParams
		coll.Get = o.build()
	}
	if has("create") {
		o := base
		o.verb, o.action, o.desc = "create", "post", "create a "+kind
		o.params = concatParams([]spec.Parameter{bodyParam(kindDef, true)}, writeQuery)
		o.codes = []int{200, 201, 202}
		coll.Post = o.build()
	}
	if has("deletecollection") {
		o := base
		o.verb, o.action, o.desc = "delete", "deletecollection", "delete collection of "+kind
		o.idSuffix = "Collection" + scope + kind
		o.params = concatParams([]spec.Parameter{bodyParam(defDeleteOptions, false)}, deleteCollectionQuery)
		o.respDef = defStatus
		coll.Delete = o.build()
	}
	p.put(collection, coll, append(slices.Clone(scopeParams), paramPretty))

	item := spec.PathItem{}
	if has("get") {
		o := base
		o.verb, o.action, o.desc = "read", "get", "read the specified "+kind
		item.Get = o.build()
	}
	if has("update") {
		o := base
		o.verb, o.action, o.desc = "replace", "put", "replace the specified "+kind
		o.params = concatParams([]spec.Parameter{bodyParam(kindDef, true)}, writeQuery)
		o.codes = []int{200, 201}
		item.Put = o.build()
	}
	if has("patch") {
		o := base
		o.verb, o.action, o.desc = "patch", "patch", "partially update the specified "+kind
		o.consumes = mediaPatch
		o.params = concatParams([]spec.Parameter{bodyParam(defPatch, true)}, writeQuery, []spec.Parameter{paramForce})
		o.codes = []int{200, 201}
		item.Patch = o.build()
	}
	if has("delete") {
		o := base
		o.verb, o.action, o.desc = "delete", "delete", "delete a "+kind
		o.params = concatParams([]spec.Parameter{bodyParam(defDeleteOptions, false)}, deleteQuery)
		o.respDef = defStatus
		o.codes = []int{200, 202}
		item.Delete = o.build()
	}
	p.put(collection+"/{name}", item, append(slices.Clone(itemParams), paramPretty))

	if has("watch") {
		w := base
		w.produces, w.respDef = mediaWatch, defWatchEvent
		w.params = listParams
		o := w
		o.verb, o.action = "watch", "watchlist"
		o.desc = "watch individual changes to a list of " + kind + ". deprecated: use the 'watch' parameter with a list operation instead."
		o.idSuffix = scope + kind + "List"
		p.put(watchCollection, spec.PathItem{PathItemProps: spec.PathItemProps{Get: o.build()}}, append(slices.Clone(scopeParams), paramPretty))
		o = w
		o.verb, o.action = "watch", "watch"
		o.desc = "watch changes to an object of kind " + kind + ". deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."
		p.put(watchCollection+"/{name}", spec.PathItem{PathItemProps: spec.PathItemProps{Get: o.build()}}, append(slices.Clone(itemParams), paramPretty))
	}
	if r.Namespaced && has("list") && listErr == nil {
		o := base
		o.verb, o.action, o.desc = "list", "list", "list or watch objects of kind "+kind
		o.idSuffix = kind + "ForAllNamespaces"
		o.produces, o.respDef = mediaList, listDef
		p.put(prefix+"/"+r.Resource, spec.PathItem{PathItemProps: spec.PathItemProps{Get: o.build()}}, concatParams(listParams, []spec.Parameter{paramPretty}))
		if has("watch") {
			o.verb, o.action = "watch", "watchlist"
			o.desc = "watch individual changes to a list of " + kind + ". deprecated: use the 'watch' parameter with a list operation instead."
			o.idSuffix = kind + "ListForAllNamespaces"
			o.produces, o.respDef = mediaWatch, defWatchEvent
			o.params = nil
			p.put(prefix+"/watch/"+r.Resource, spec.PathItem{PathItemProps: spec.PathItemProps{Get: o.build()}}, concatParams(listParams, []spec.Parameter{paramPretty}))
		}
	}

	for _, sub := range r.Subresources {
		if err := p.addSubresource(r, sub, base, collection+"/{name}/"+sub, itemParams); err != nil {
			return err
		}
	}
	return nil
}

// addSubresource emits the operations of one subresource.
func (p *pathBuilder) addSubresource(r Resource, sub string, base op, path string, itemParams []spec.Parameter) error {
	gvk := r.GVK
	if k, ok := subresourceKinds[sub]; ok {
		gvk = k
	}
	def, err := p.defName(gvk)
	if err != nil {
		return err
	}
	o := base
	o.gvk, o.respDef = gvk, def
	o.idSuffix = base.idSuffix + upperFirst(sub)
	kind := r.GVK.Kind
	item := spec.PathItem{}
	params := append(slices.Clone(itemParams), paramPretty)
	switch sub {
	case "binding", "eviction":
		o.verb, o.action, o.desc = "create", "post", "create "+sub+" of a "+kind
		o.params = concatParams([]spec.Parameter{bodyParam(def, true)}, writeQuery)
		o.codes = []int{200, 201, 202}
		item.Post = o.build()
	case "log":
		o.verb, o.action, o.desc = "read", "get", "read log of the specified "+kind
		o.produces, o.respDef, o.params = mediaText, "", logParams
		item.Get = o.build()
	case "exec", "attach", "portforward":
		o.action, o.desc = "connect", "connect GET requests to "+sub+" of "+kind
		o.produces, o.respDef = []string{"*/*"}, ""
		o.verb = "connect"
		o.idSuffix = "Get" + base.idSuffix + upperFirst(sub)
		item.Get = o.build()
		o.desc = "connect POST requests to " + sub + " of " + kind
		o.idSuffix = "Post" + base.idSuffix + upperFirst(sub)
		item.Post = o.build()
	default: // status, scale and other read/update subresources
		o.verb, o.action, o.desc = "read", "get", "read "+sub+" of the specified "+kind
		item.Get = o.build()
		o.verb, o.action, o.desc = "replace", "put", "replace "+sub+" of the specified "+kind
		o.params = concatParams([]spec.Parameter{bodyParam(def, true)}, writeQuery)
		o.codes = []int{200, 201}
		item.Put = o.build()
		o.verb, o.action, o.desc = "patch", "patch", "partially update "+sub+" of the specified "+kind
		o.consumes = mediaPatch
		o.params = concatParams([]spec.Parameter{bodyParam(defPatch, true)}, writeQuery, []spec.Parameter{paramForce})
		item.Patch = o.build()
	}
	p.put(path, item, params)
	return nil
}

func (p *pathBuilder) put(path string, item spec.PathItem, params []spec.Parameter) {
	if item.Get == nil && item.Put == nil && item.Post == nil && item.Delete == nil && item.Patch == nil {
		return
	}
	item.Parameters = params
	p.paths[path] = item
}
