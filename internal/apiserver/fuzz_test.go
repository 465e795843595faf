package apiserver_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/skiff-dev/skiff/internal/apiserver"
	"github.com/skiff-dev/skiff/internal/defaulting"
	"github.com/skiff-dev/skiff/internal/registry"
	"github.com/skiff-dev/skiff/internal/storage/etcd3"
	"github.com/skiff-dev/skiff/internal/storage/storagetest"
	"github.com/skiff-dev/skiff/internal/validation"
)

// newHandler builds the API server over a real embedded etcd, without TLS
// or authentication, for in-process requests.
func newHandler(t testing.TB) http.Handler {
	scheme, err := registry.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Storage: etcd3.New(storagetest.NewEtcd(t)), Scheme: scheme, Hooks: registry.Hooks{
		Default: defaulting.Default, ValidateCreate: validation.ValidateCreate,
		ValidateUpdate: validation.ValidateUpdate, ValidateStatusUpdate: validation.ValidateStatusUpdate,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.EnsureSystemNamespaces(t.Context()); err != nil {
		t.Fatal(err)
	}
	s, err := apiserver.New(apiserver.Config{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var fuzzTargets = []struct{ method, path string }{
	{"POST", "/api/v1/namespaces/default/pods"},
	{"POST", "/apis/apps/v1/namespaces/default/deployments"},
	{"POST", "/api/v1/namespaces/default/services"},
	{"POST", "/api/v1/namespaces/default/configmaps"},
	{"PUT", "/api/v1/namespaces/default/configmaps/fuzz"},
	{"PATCH", "/api/v1/namespaces/default/configmaps/fuzz"},
	{"PATCH", "/apis/apps/v1/namespaces/default/deployments/fuzz/scale"},
	{"PUT", "/api/v1/namespaces/default/pods/fuzz/status"},
	{"POST", "/api/v1/namespaces/default/pods/fuzz/binding"},
	{"POST", "/api/v1/namespaces/default/pods/fuzz/eviction"},
	{"DELETE", "/api/v1/namespaces/default/configmaps/fuzz"},
	{"POST", "/api/v1/namespaces"},
}

var contentTypes = []string{
	"application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
	"application/json-patch+json", "application/merge-patch+json",
	"application/strategic-merge-patch+json", "application/apply-patch+yaml", "text/plain",
}

// FuzzRequestBody sends arbitrary bodies to every kind of write: the
// server must answer each with a Status or an object, never crash (its
// panic guard would turn a crash into a 500, which fails the fuzz).
func FuzzRequestBody(f *testing.F) {
	h := newHandler(f)
	seed := func(target, ct int, body string) { f.Add(uint8(target), uint8(ct), []byte(body)) }
	seed(0, 0, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}`)
	seed(1, 0, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`)
	seed(2, 1, "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n")
	seed(3, 0, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz"},"data":{"a":"b"}}`)
	seed(5, 3, `[{"op":"add","path":"/data/x","value":"y"}]`)
	seed(5, 5, `{"data":{"$patch":"replace"}}`)
	seed(5, 6, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fuzz}\ndata: {a: c}\n")
	seed(6, 4, `{"spec":{"replicas":-3}}`)
	seed(8, 0, `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"fuzz"},"target":{"name":"n"}}`)
	seed(10, 0, `{"propagationPolicy":"Sideways"}`)
	seed(11, 2, "k8s\x00\x0a\x02v1")
	seed(0, 0, `{"metadata":{"name":"x","ownerReferences":[{}],"managedFields":[{"fieldsV1":{"f:x":1}}]}}`)
	f.Fuzz(func(t *testing.T, target, ct uint8, body []byte) {
		tg := fuzzTargets[int(target)%len(fuzzTargets)]
		req := httptest.NewRequest(tg.method, tg.path+"?fieldManager=fuzz", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentTypes[int(ct)%len(contentTypes)])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s (%s) answered %d: %s\nbody: %q", tg.method, tg.path, req.Header.Get("Content-Type"), rec.Code, rec.Body.String(), body)
		}
		if rec.Header().Get("Content-Type") == "" {
			t.Fatalf("%s %s: no Content-Type on the answer", tg.method, tg.path)
		}
	})
}
