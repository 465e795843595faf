package openapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	kubeproto "k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/validation/spec"
	explainv2 "k8s.io/kubectl/pkg/explain/v2"
	kubectlopenapi "k8s.io/kubectl/pkg/util/openapi"
)

// testServer serves the documents on a real loopback socket, the way
// kubectl reaches them.
func testServer(t *testing.T) (*discovery.DiscoveryClient, *rest.Config) {
	t.Helper()
	srv := httptest.NewServer(newTestDocuments(t))
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dc, cfg
}

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

func TestOpenAPIV3RootFindsGroupVersions(t *testing.T) {
	dc, _ := testServer(t)
	root := openapi3.NewRoot(dc.OpenAPIV3())
	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatalf("GroupVersions: %v", err)
	}
	for _, want := range []schema.GroupVersion{{Version: "v1"}, {Group: "apps", Version: "v1"}, {Group: "coordination.k8s.io", Version: "v1"}, {Group: "discovery.k8s.io", Version: "v1"}} {
		if !slices.Contains(gvs, want) {
			t.Errorf("group version %v missing from %v", want, gvs)
		}
	}
	doc, err := root.GVSpec(schema.GroupVersion{Group: "apps", Version: "v1"})
	if err != nil {
		t.Fatalf("GVSpec: %v", err)
	}
	dep, ok := doc.Components.Schemas["io.k8s.api.apps.v1.Deployment"]
	if !ok {
		t.Fatal("no Deployment schema")
	}
	var gvks []map[string]string
	if err := dep.Extensions.GetObject("x-kubernetes-group-version-kind", &gvks); err != nil || len(gvks) != 1 || gvks[0]["kind"] != "Deployment" {
		t.Errorf("Deployment x-kubernetes-group-version-kind = %v (%v)", gvks, err)
	}
	// Every $ref must resolve within the document.
	for name, s := range doc.Components.Schemas {
		for _, ref := range v3Refs(nil, s) {
			if _, ok := doc.Components.Schemas[ref]; !ok {
				t.Errorf("%s refers to missing %s", name, ref)
			}
		}
	}
	if _, err := root.GVSpec(schema.GroupVersion{Group: "nope.example.com", Version: "v1"}); err == nil {
		t.Error("GVSpec of an unknown group version succeeded")
	}
}

func v3Refs(refs []string, s *spec.Schema) []string {
	if s == nil {
		return refs
	}
	if name, ok := strings.CutPrefix(s.Ref.String(), "#/components/schemas/"); ok {
		refs = append(refs, name)
	}
	for _, p := range s.Properties {
		refs = v3Refs(refs, &p)
	}
	if s.Items != nil {
		refs = v3Refs(refs, s.Items.Schema)
	}
	if s.AdditionalProperties != nil {
		refs = v3Refs(refs, s.AdditionalProperties.Schema)
	}
	for i := range s.AllOf {
		refs = v3Refs(refs, &s.AllOf[i])
	}
	return refs
}

// kubectl apply/create decide between server- and client-side validation
// with this verifier; nil means the server validates.
func TestFieldValidationSupported(t *testing.T) {
	dc, cfg := testServer(t)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v := resource.NewQueryParamVerifierV3(dyn, dc.OpenAPIV3(), resource.QueryParamFieldValidation)
	for _, r := range testResources() {
		if err := v.HasSupport(r.GVK); err != nil {
			t.Errorf("HasSupport(%v) = %v", r.GVK, err)
		}
	}
	v2 := resource.NewQueryParamVerifier(dyn, dc, resource.QueryParamFieldValidation)
	for _, gvk := range []schema.GroupVersionKind{{Version: "v1", Kind: "Pod"}, appsv1.SchemeGroupVersion.WithKind("Deployment")} {
		if err := v2.HasSupport(gvk); err != nil {
			t.Errorf("v2 HasSupport(%v) = %v", gvk, err)
		}
	}
}

func TestExplainContainers(t *testing.T) {
	dc, _ := testServer(t)
	var out bytes.Buffer
	err := explainv2.PrintModelDescription([]string{"spec", "template", "spec", "containers"}, &out, dc.OpenAPIV3(), deploymentsGVR, false, 0, "plaintext")
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	text := out.String()
	for _, want := range []string{"GROUP:      apps", "KIND:       Deployment", "FIELD: containers <[]Container>",
		"List of containers belonging to the pod", "name\t<string> -required-", "image\t<string>", "resources\t<ResourceRequirements>"} {
		if !strings.Contains(text, want) {
			t.Errorf("explain output lacks %q:\n%s", want, text)
		}
	}
	out.Reset()
	if err := explainv2.PrintModelDescription(nil, &out, dc.OpenAPIV3(), schema.GroupVersionResource{Version: "v1", Resource: "pods"}, true, 3, "plaintext"); err != nil {
		t.Fatalf("explain pods --recursive: %v", err)
	}
	if !strings.Contains(out.String(), "containers\t<[]Container> -required-") {
		t.Errorf("recursive explain of pods lacks containers:\n%.2000s", out.String())
	}
}

// The v2 document is fetched as protobuf by client-go and parsed by
// kubectl's and kube-openapi's models.
func TestOpenAPIV2Models(t *testing.T) {
	dc, _ := testServer(t)
	doc, err := dc.OpenAPISchema()
	if err != nil {
		t.Fatalf("OpenAPISchema: %v", err)
	}
	resources, err := kubectlopenapi.NewOpenAPIData(doc)
	if err != nil {
		t.Fatalf("NewOpenAPIData: %v", err)
	}
	for _, r := range testResources() {
		if resources.LookupResource(r.GVK) == nil {
			t.Errorf("no v2 model for %v", r.GVK)
		}
	}
	dep := resources.LookupResource(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	var buf bytes.Buffer
	if err := printField(dep, []string{"spec", "template", "spec", "containers"}, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "io.k8s.api.core.v1.Container") {
		t.Errorf("containers item model = %s", buf.String())
	}

	// Strategic merge patch metadata from the v2 model.
	meta := strategicpatch.NewPatchMetaFromOpenAPI(dep)
	checkContainersPatchMeta(t, meta)
}

// printField walks fields of a kube-openapi model and prints the path of
// the array item model at the end.
func printField(s kubeproto.Schema, path []string, buf *bytes.Buffer) error {
	for _, f := range path {
		for {
			if r, ok := s.(kubeproto.Reference); ok {
				s = r.SubSchema()
				continue
			}
			break
		}
		k, ok := s.(*kubeproto.Kind)
		if !ok {
			buf.WriteString("not a kind at " + f)
			return nil
		}
		s = k.Fields[f]
		if s == nil {
			buf.WriteString("no field " + f)
			return nil
		}
	}
	if a, ok := s.(*kubeproto.Array); ok {
		if r, ok := a.SubType.(kubeproto.Reference); ok {
			buf.WriteString(r.Reference())
		}
	}
	return nil
}

func checkContainersPatchMeta(t *testing.T, meta strategicpatch.LookupPatchMeta) {
	t.Helper()
	var err error
	for _, f := range []string{"spec", "template", "spec"} {
		meta, _, err = meta.LookupPatchMetadataForStruct(f)
		if err != nil {
			t.Fatalf("lookup %s: %v", f, err)
		}
	}
	_, pm, err := meta.LookupPatchMetadataForSlice("containers")
	if err != nil {
		t.Fatalf("lookup containers: %v", err)
	}
	if pm.GetPatchMergeKey() != "name" || !slices.Equal(pm.GetPatchStrategies(), []string{"merge"}) {
		t.Errorf("containers patch meta = key %q strategies %v", pm.GetPatchMergeKey(), pm.GetPatchStrategies())
	}
}

// kubectl apply computes its strategic merge patch from the v3 schema
// (PatchMetaFromOpenAPIV3); it must equal the one from the Go struct, which
// is what the server applies.
func TestStrategicMergePatchFromV3(t *testing.T) {
	dc, _ := testServer(t)
	root := openapi3.NewRoot(dc.OpenAPIV3())
	doc, err := root.GVSpec(appsv1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	meta := strategicpatch.PatchMetaFromOpenAPIV3{Schema: doc.Components.Schemas["io.k8s.api.apps.v1.Deployment"], SchemaList: doc.Components.Schemas}
	checkContainersPatchMeta(t, meta)

	original := deploymentJSON(t, []string{"app:1", "side:1"}, map[string]string{"A": "1"}, []string{"v1"})
	modified := deploymentJSON(t, []string{"app:2"}, map[string]string{"A": "1", "B": "2"}, []string{"v2"})
	current := deploymentJSON(t, []string{"app:1", "side:1", "injected:1"}, map[string]string{"A": "1"}, []string{"v1"})
	fromV3, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, meta, false)
	if err != nil {
		t.Fatalf("patch from v3: %v", err)
	}
	structMeta, err := strategicpatch.NewPatchMetaFromStruct(&appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	fromStruct, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, structMeta, false)
	if err != nil {
		t.Fatalf("patch from struct: %v", err)
	}
	if !jsonEqual(t, fromV3, fromStruct) {
		t.Errorf("patches differ:\nv3:     %s\nstruct: %s", fromV3, fromStruct)
	}
	if !strings.Contains(string(fromV3), `"$setElementOrder/containers"`) {
		t.Errorf("patch does not merge containers by name: %s", fromV3)
	}
}

func deploymentJSON(t *testing.T, containers []string, env map[string]string, volumes []string) []byte {
	t.Helper()
	var cs []map[string]any
	for _, c := range containers {
		name, tag, _ := strings.Cut(c, ":")
		var envs []map[string]string
		for k, v := range env {
			envs = append(envs, map[string]string{"name": k, "value": v})
		}
		slices.SortFunc(envs, func(a, b map[string]string) int { return strings.Compare(a["name"], b["name"]) })
		cs = append(cs, map[string]any{"name": name, "image": "img/" + name + ":" + tag, "env": envs})
	}
	var vs []map[string]any
	for _, v := range volumes {
		vs = append(vs, map[string]any{"name": v, "emptyDir": map[string]any{}})
	}
	obj := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "d", "finalizers": []string{"x"}},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]string{"app": "d"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]string{"app": "d"}},
				"spec":     map[string]any{"containers": cs, "volumes": vs},
			},
		},
	}
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
