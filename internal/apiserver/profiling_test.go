package apiserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/internal/testserver"
)

// Profiles are served to administrators only, as kube-apiserver's
// --profiling does behind its authorization.
func TestProfilingIsForAdmins(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	token, err := os.ReadFile(filepath.Join(srv.DataDir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	node := rest.AnonymousClientConfig(srv.Config)
	node.BearerToken = strings.TrimSpace(string(token))
	for _, c := range []struct {
		name   string
		cfg    *rest.Config
		path   string
		status int
		body   string
	}{
		{"admin index", srv.Config, "/debug/pprof/", 200, "goroutine"},
		{"admin heap", srv.Config, "/debug/pprof/heap?debug=1", 200, "heap profile"},
		{"admin cmdline", srv.Config, "/debug/pprof/cmdline", 404, ""},
		{"node", node, "/debug/pprof/heap", 403, `forbidden: User \"system:node-bootstrap\" cannot get path \"/debug/pprof/heap\"`},
		{"anonymous", rest.AnonymousClientConfig(srv.Config), "/debug/pprof/", 401, "Unauthorized"},
	} {
		rt, err := rest.TransportFor(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := (&http.Client{Transport: rt}).Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.body) {
			t.Errorf("%s: %d %.200s", c.name, resp.StatusCode, b)
		}
		if c.status >= 400 && !json.Valid(b) {
			t.Errorf("%s: error is not a Status: %.200s", c.name, b)
		}
	}
}
