package openapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/scheme"
)

func newTestDocuments(t testing.TB) *Documents {
	t.Helper()
	start := time.Now()
	d, err := New(scheme.Scheme, testResources())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Logf("New took %v for %d resources", time.Since(start), len(testResources()))
	return d
}

func get(t testing.TB, h http.Handler, path, accept string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestDump(t *testing.T) {
	dir := os.Getenv("OPENAPI_DUMP")
	if dir == "" {
		t.Skip("set OPENAPI_DUMP to a directory")
	}
	d := newTestDocuments(t)
	for name, path := range map[string]string{"v2.json": "/openapi/v2", "v3.json": "/openapi/v3", "apps.json": "/openapi/v3/apis/apps/v1", "core.json": "/openapi/v3/api/v1"} {
		start := time.Now()
		resp := get(t, d, path, "application/json")
		b, _ := io.ReadAll(resp.Body)
		t.Logf("%s: %d %d bytes in %v", path, resp.StatusCode, len(b), time.Since(start))
		if err := os.WriteFile(dir+"/"+name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
