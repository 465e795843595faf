package openapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

func TestServeV3(t *testing.T) {
	d := newTestDocuments(t)
	resp := get(t, d, "/openapi/v3", "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/openapi/v3: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var disc struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&disc); err != nil {
		t.Fatal(err)
	}
	if len(disc.Paths) != len(d.GroupVersions()) {
		t.Errorf("discovery lists %d group versions, want %d", len(disc.Paths), len(d.GroupVersions()))
	}
	url := disc.Paths["apis/apps/v1"].ServerRelativeURL
	if !strings.HasPrefix(url, "/openapi/v3/apis/apps/v1?hash=") {
		t.Fatalf("apps/v1 url = %q", url)
	}

	tests := []struct {
		name, path, accept string
		code               int
		ctype, cache       string
	}{
		{"hashed json", url, "application/json", 200, "application/json", "public, immutable"},
		{"unhashed", "/openapi/v3/apis/apps/v1", "application/json", 200, "application/json", ""},
		{"stale hash redirects", "/openapi/v3/apis/apps/v1?hash=0", "application/json", 301, "", ""},
		{"protobuf", url, "application/com.github.proto-openapi.spec.v3@v1.0+protobuf", 200, "application/com.github.proto-openapi.spec.v3.v1.0+protobuf", "public, immutable"},
		{"unknown group version", "/openapi/v3/apis/nope.example.com/v1", "application/json", 404, "", ""},
		{"not acceptable", url, "text/html", 406, "", ""},
		{"v2 json", "/openapi/v2", "application/json", 200, "application/json", ""},
		{"v2 protobuf", "/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", 200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", ""},
		{"v2 not acceptable", "/openapi/v2", "text/html", 406, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, d, tt.path, tt.accept)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, tt.code, body)
			}
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.ctype)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if tt.code == 200 && resp.Header.Get("Etag") == "" {
				t.Error("no Etag")
			}
		})
	}

	// Conditional requests with the ETag are answered 304.
	first := get(t, d, "/openapi/v2", "application/json")
	req, _ := http.NewRequest(http.MethodGet, "/openapi/v2", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("If-None-Match", first.Header.Get("Etag"))
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", rec.Code)
	}
}

func TestNewRejectsUnknownKinds(t *testing.T) {
	for _, r := range []Resource{
		{GVK: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, Resource: "widgets", Verbs: allVerbs},
		{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, Resource: "pods", Verbs: allVerbs, Subresources: []string{"nosuch"}},
	} {
		if r.Subresources != nil {
			// Unknown subresources are served with the parent kind.
			if _, err := New(scheme.Scheme, []Resource{r}); err != nil {
				t.Errorf("New(%v): %v", r.Subresources, err)
			}
			continue
		}
		if _, err := New(scheme.Scheme, []Resource{r}); err == nil {
			t.Errorf("New accepted unknown kind %v", r.GVK)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	rs := testResources()
	for b.Loop() {
		if _, err := New(scheme.Scheme, rs); err != nil {
			b.Fatal(err)
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
