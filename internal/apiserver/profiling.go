package apiserver

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// serveProfiling serves Go's profiles under /debug/pprof/, as
// kube-apiserver does with --profiling (its default): for administrators
// only (group system:masters, or any caller when the server has no
// authentication), since a profile shows what the server is doing.
func (s *Server) serveProfiling(w http.ResponseWriter, r *http.Request, user User) {
	if s.cfg.Authenticate != nil && !slices.Contains(user.Groups, "system:masters") {
		// Kubernetes' wording for a non-resource path.
		s.writeError(w, r, apierrors.NewForbidden(schema.GroupResource{}, "", fmt.Errorf("User %q cannot get path %q", user.Name, r.URL.Path)))
		return
	}
	switch name := strings.TrimPrefix(r.URL.Path, "/debug/pprof/"); name {
	case "profile":
		pprof.Profile(w, r)
	case "trace":
		pprof.Trace(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "cmdline":
		// The command line may name files with credentials; not served.
		s.writeError(w, r, notFoundPath(r.URL.Path))
	default:
		// The index, and heap, goroutine, allocs, block, mutex ... by name.
		pprof.Index(w, r)
	}
}
