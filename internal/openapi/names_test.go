package openapi

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestModelName(t *testing.T) {
	for _, tt := range []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[corev1.Pod](), "io.k8s.api.core.v1.Pod"},
		{reflect.TypeFor[appsv1.Deployment](), "io.k8s.api.apps.v1.Deployment"},
		{reflect.TypeFor[metav1.ObjectMeta](), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
		{reflect.TypeFor[intstr.IntOrString](), "io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
		{reflect.TypeFor[resource.Quantity](), "io.k8s.apimachinery.pkg.api.resource.Quantity"},
		{reflect.TypeFor[runtime.RawExtension](), "io.k8s.apimachinery.pkg.runtime.RawExtension"},
		{reflect.TypeFor[patchBody](), "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"},
	} {
		if got := modelName(tt.t); got != tt.want {
			t.Errorf("modelName(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestGroupCamel(t *testing.T) {
	for in, want := range map[string]string{
		"": "Core", "apps": "Apps", "rbac.authorization.k8s.io": "RbacAuthorization",
		"coordination.k8s.io": "Coordination", "flowcontrol.apiserver.k8s.io": "FlowcontrolApiserver",
	} {
		if got := groupCamel(in); got != want {
			t.Errorf("groupCamel(%q) = %q, want %q", in, got, want)
		}
	}
}

// Special types and field handling, checked on the definitions New builds.
func TestSchemas(t *testing.T) {
	d := newTestDocuments(t)
	d.prepare()
	defs := d.swagger.Definitions
	def := func(name string) map[string]any {
		t.Helper()
		s, ok := defs[name]
		if !ok {
			t.Fatalf("no definition %s", name)
		}
		b, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := jsonUnmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	prop := func(defName, field string) map[string]any {
		t.Helper()
		p, _ := def(defName)["properties"].(map[string]any)[field].(map[string]any)
		if p == nil {
			t.Fatalf("%s has no property %s", defName, field)
		}
		return p
	}
	for _, tt := range []struct {
		name string
		got  any
		want any
	}{
		{"Time type", def("io.k8s.apimachinery.pkg.apis.meta.v1.Time")["format"], "date-time"},
		{"MicroTime type", def("io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime")["format"], "date-time"},
		{"IntOrString format", def("io.k8s.apimachinery.pkg.util.intstr.IntOrString")["format"], "int-or-string"},
		{"IntOrString ext", def("io.k8s.apimachinery.pkg.util.intstr.IntOrString")["x-kubernetes-int-or-string"], true},
		{"Quantity type", def("io.k8s.apimachinery.pkg.api.resource.Quantity")["type"], "string"},
		{"RawExtension type", def("io.k8s.apimachinery.pkg.runtime.RawExtension")["type"], "object"},
		{"FieldsV1 type", def("io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1")["type"], "object"},
		{"int32", prop("io.k8s.api.core.v1.Probe", "periodSeconds")["format"], "int32"},
		{"bytes", prop("io.k8s.api.core.v1.Secret", "data")["additionalProperties"], map[string]any{"type": "string", "format": "byte"}},
		{"labels", prop("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels")["additionalProperties"], map[string]any{"type": "string"}},
		{"inline TypeMeta", prop("io.k8s.api.core.v1.Pod", "kind")["type"], "string"},
		{"ref", prop("io.k8s.api.core.v1.Pod", "metadata")["$ref"], "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
		{"field doc", prop("io.k8s.api.core.v1.Container", "name")["description"] != nil, true},
		{"type doc", def("io.k8s.api.core.v1.Pod")["description"] != nil, true},
		{"merge key", prop("io.k8s.api.core.v1.PodSpec", "containers")["x-kubernetes-patch-merge-key"], "name"},
		{"retainKeys", prop("io.k8s.api.core.v1.PodSpec", "volumes")["x-kubernetes-patch-strategy"], "merge,retainKeys"},
		{"list type", prop("io.k8s.api.core.v1.PodSpec", "containers")["x-kubernetes-list-type"], "map"},
		{"list keys", prop("io.k8s.api.core.v1.PodSpec", "containers")["x-kubernetes-list-map-keys"], []any{"name"}},
		{"set", prop("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers")["x-kubernetes-list-type"], "set"},
		{"atomic struct", def("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector")["x-kubernetes-map-type"], "atomic"},
		{"Container required", def("io.k8s.api.core.v1.Container")["required"], []any{"name"}},
		{"ObjectMeta not required", def("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")["required"], nil},
		{"+optional wins", def("io.k8s.api.rbac.v1.ClusterRole")["required"], nil},
		{"Pod gvk", def("io.k8s.api.core.v1.Pod")["x-kubernetes-group-version-kind"], []any{map[string]any{"group": "", "kind": "Pod", "version": "v1"}}},
		{"List gvk", def("io.k8s.api.apps.v1.DeploymentList")["x-kubernetes-group-version-kind"], []any{map[string]any{"group": "apps", "kind": "DeploymentList", "version": "v1"}}},
		{"Scale gvk", def("io.k8s.api.autoscaling.v1.Scale")["x-kubernetes-group-version-kind"], []any{map[string]any{"group": "autoscaling", "kind": "Scale", "version": "v1"}}},
	} {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
	if n := len(def("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")["x-kubernetes-group-version-kind"].([]any)); n != len(d.GroupVersions()) {
		t.Errorf("DeleteOptions carries %d group-version-kinds, want %d", n, len(d.GroupVersions()))
	}
}
