package apiserver

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-dev/skiff/internal/registry"
)

// discovery holds the legacy discovery documents (/api, /apis,
// /api/v1, /apis/G, /apis/G/V), built once from the served kinds.
type discovery struct {
	// docs maps a path to its JSON answer.
	docs map[string][]byte
}

var standardVerbs = metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

func newDiscovery(reg *registry.Registry) (*discovery, error) {
	lists := map[schema.GroupVersion]*metav1.APIResourceList{}
	var order []schema.GroupVersion
	for _, k := range reg.Kinds() {
		gv := k.GVK.GroupVersion()
		l, ok := lists[gv]
		if !ok {
			l = &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
			lists[gv] = l
			order = append(order, gv)
		}
		l.APIResources = append(l.APIResources, resourcesOf(k)...)
	}
	d := &discovery{docs: map[string][]byte{}}
	put := func(path string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		d.docs[path] = b
		return nil
	}
	groups := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	for _, gv := range order {
		l := lists[gv]
		sort.Slice(l.APIResources, func(i, j int) bool { return l.APIResources[i].Name < l.APIResources[j].Name })
		if gv.Group == "" {
			if err := put("/api/"+gv.Version, l); err != nil {
				return nil, err
			}
			continue
		}
		if err := put("/apis/"+gv.String(), l); err != nil {
			return nil, err
		}
		v := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
		g := metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: gv.Group,
			Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v}
		groups.Groups = append(groups.Groups, g)
		if err := put("/apis/"+gv.Group, &g); err != nil {
			return nil, err
		}
	}
	if err := put("/apis", groups); err != nil {
		return nil, err
	}
	if err := put("/api", &metav1.APIVersions{
		TypeMeta:                   metav1.TypeMeta{Kind: "APIVersions"},
		Versions:                   []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: ""}},
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// resourcesOf lists a kind and its subresources as discovery shows them.
func resourcesOf(k *registry.Kind) []metav1.APIResource {
	main := metav1.APIResource{
		Name: k.Resource, SingularName: k.SingularName, Namespaced: k.Namespaced,
		Kind: k.GVK.Kind, Verbs: standardVerbs, ShortNames: k.ShortNames, Categories: k.Categories,
	}
	if k.Resource == "namespaces" {
		// Namespaces are deleted one by one (the namespace controller).
		main.Verbs = metav1.Verbs{"create", "delete", "get", "list", "patch", "update", "watch"}
	}
	out := []metav1.APIResource{main}
	sub := func(name, kind string, verbs metav1.Verbs) metav1.APIResource {
		return metav1.APIResource{Name: k.Resource + "/" + name, Namespaced: k.Namespaced, Kind: kind, Verbs: verbs}
	}
	if k.HasStatus {
		out = append(out, sub("status", k.GVK.Kind, metav1.Verbs{"get", "patch", "update"}))
	}
	if k.HasScale {
		s := sub("scale", "Scale", metav1.Verbs{"get", "patch", "update"})
		s.Group, s.Version = "autoscaling", "v1"
		out = append(out, s)
	}
	switch k.Resource {
	case "pods":
		if k.GVK.Group == "" {
			out = append(out,
				sub("binding", "Binding", metav1.Verbs{"create"}),
				func() metav1.APIResource {
					e := sub("eviction", "Eviction", metav1.Verbs{"create"})
					e.Group, e.Version = "policy", "v1"
					return e
				}(),
				sub("log", "Pod", metav1.Verbs{"get"}),
				sub("exec", "PodExecOptions", metav1.Verbs{"create", "get"}),
				sub("attach", "PodAttachOptions", metav1.Verbs{"create", "get"}),
				sub("portforward", "PodPortForwardOptions", metav1.Verbs{"create", "get"}),
			)
		}
	case "namespaces":
		out = append(out, sub("finalize", "Namespace", metav1.Verbs{"update"}))
	}
	return out
}

// serve answers a discovery path; it reports false for other paths.
func (d *discovery) serve(s *Server, w http.ResponseWriter, r *http.Request) bool {
	path := strings.TrimSuffix(r.URL.Path, "/")
	doc, ok := d.docs[path]
	if !ok {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, r, methodNotSupported(schema.GroupResource{}, r.Method))
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
	return true
}

// writeRawJSON writes any JSON-marshalable value.
func (s *Server) writeRawJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
