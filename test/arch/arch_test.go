// Package arch checks the dependency rules of docs/architecture.md and
// that every package says what it is in one package comment.
package arch

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/skiff-dev/skiff/"

type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	GoFiles    []string
}

func list(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// forbidden lists, for a package prefix, the module packages it must not
// import: arrows point down (cmd -> composition root -> components ->
// registry/apiserver -> storage -> k8s.io), and components meet only
// through the API.
var forbidden = map[string][]string{
	"internal/storage":    {"internal/registry", "internal/apiserver", "internal/controller", "internal/agent", "internal/scheduler", "internal/controlplane", "internal/dns", "internal/proxy"},
	"internal/registry":   {"internal/apiserver", "internal/controller", "internal/agent", "internal/scheduler", "internal/controlplane", "internal/dns", "internal/proxy"},
	"internal/apiserver":  {"internal/controller", "internal/agent", "internal/scheduler", "internal/controlplane", "internal/dns", "internal/proxy", "internal/storage/etcd3", "internal/storage/embedetcd"},
	"internal/controller": {"internal/apiserver", "internal/registry", "internal/storage", "internal/agent", "internal/scheduler", "internal/controlplane", "internal/dns", "internal/proxy"},
	"internal/scheduler":  {"internal/apiserver", "internal/registry", "internal/storage", "internal/agent", "internal/controller", "internal/controlplane", "internal/dns", "internal/proxy"},
	"internal/agent":      {"internal/apiserver", "internal/registry", "internal/storage", "internal/controller", "internal/scheduler", "internal/controlplane", "internal/dns", "internal/proxy"},
	"internal/dns":        {"internal/apiserver", "internal/registry", "internal/storage", "internal/controller", "internal/scheduler", "internal/agent", "internal/controlplane", "internal/proxy"},
	"internal/proxy":      {"internal/apiserver", "internal/registry", "internal/storage", "internal/controller", "internal/scheduler", "internal/agent", "internal/controlplane", "internal/dns"},
}

func TestDependencyRules(t *testing.T) {
	for _, p := range list(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		for prefix, bad := range forbidden {
			if rel != prefix && !strings.HasPrefix(rel, prefix+"/") {
				continue
			}
			for _, imp := range p.Imports {
				irel := strings.TrimPrefix(imp, module)
				if irel == imp {
					continue
				}
				for _, b := range bad {
					if irel == b || strings.HasPrefix(irel, b+"/") {
						t.Errorf("%s imports %s: %s must not depend on %s", rel, irel, prefix, b)
					}
				}
			}
		}
	}
}

func TestEveryPackageHasADoc(t *testing.T) {
	for _, p := range list(t) {
		if len(p.GoFiles) == 0 || p.Name == "main" && strings.HasPrefix(p.ImportPath, module+"internal/openapi/internal") {
			continue
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package comment", p.ImportPath)
		}
	}
}
