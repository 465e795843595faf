package apiserver

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"

	"github.com/skiff-dev/skiff/internal/registry"
)

// User is an authenticated caller.
type User struct {
	Name   string
	Groups []string
}

// Authenticator identifies the caller of a request; ok is false for
// requests without valid credentials.
type Authenticator func(r *http.Request) (u User, ok bool)

// TokenAuthenticator accepts bearer tokens from a fixed table.
func TokenAuthenticator(tokens map[string]User) Authenticator {
	return func(r *http.Request) (User, bool) {
		h := r.Header.Get("Authorization")
		tok, found := strings.CutPrefix(h, "Bearer ")
		if !found || tok == "" {
			return User{}, false
		}
		// Compare against every token in constant time so that timing
		// reveals nothing about which prefix matched.
		var match User
		ok := false
		for t, u := range tokens {
			if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
				match, ok = u, true
			}
		}
		return match, ok
	}
}

// Config wires a Server.
type Config struct {
	Registry *registry.Registry
	// OpenAPI serves /openapi/v2 and /openapi/v3…
	OpenAPI http.Handler
	// Authenticate identifies callers; nil accepts everyone (tests only).
	Authenticate Authenticator
	// PodSubresources serves pods/log, exec, attach and portforward; nil
	// answers them with 503 until a node agent provides them.
	PodSubresources http.Handler
	// Ready reports whether the server is ready (/readyz).
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// Version is what /version reports.
	Version version.Info
	Now     func() time.Time
}

// Server is the Kubernetes API over a registry.
type Server struct {
	reg    *registry.Registry
	scheme *runtime.Scheme
	codecs serializer.CodecFactory
	cfg    Config
	log    *slog.Logger
	now    func() time.Time

	// discovery answers, built once: the served kinds never change.
	discovery *discovery
}

// New builds a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Registry == nil {
		return nil, fmt.Errorf("apiserver: no registry")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	scheme := cfg.Registry.Scheme()
	s := &Server{
		reg:    cfg.Registry,
		scheme: scheme,
		codecs: serializer.NewCodecFactory(scheme, serializer.EnableStrict),
		cfg:    cfg,
		log:    cfg.Logger,
		now:    cfg.Now,
	}
	d, err := newDiscovery(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s.discovery = d
	return s, nil
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// The server never dies on a request: a bug answers 500.
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
			s.writeError(w, r, fmt.Errorf("internal error: %v", p))
		}
	}()
	path := r.URL.Path
	switch {
	case path == "/healthz" || path == "/livez" || strings.HasPrefix(path, "/healthz/") || strings.HasPrefix(path, "/livez/"):
		s.writeText(w, http.StatusOK, "ok")
		return
	case path == "/readyz" || strings.HasPrefix(path, "/readyz/"):
		if s.cfg.Ready != nil {
			if err := s.cfg.Ready(r.Context()); err != nil {
				s.writeText(w, http.StatusServiceUnavailable, "[-]skiff not ready: "+err.Error())
				return
			}
		}
		s.writeText(w, http.StatusOK, "ok")
		return
	case path == "/version" || path == "/version/":
		s.writeRawJSON(w, http.StatusOK, s.cfg.Version)
		return
	}
	var user User
	if s.cfg.Authenticate != nil {
		var ok bool
		if user, ok = s.cfg.Authenticate(r); !ok {
			s.writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
	}
	switch {
	case strings.HasPrefix(path, "/debug/pprof/"):
		s.serveProfiling(w, r, user)
		return
	case strings.HasPrefix(path, "/openapi/"):
		if s.cfg.OpenAPI == nil {
			s.writeError(w, r, notFoundPath(path))
			return
		}
		s.cfg.OpenAPI.ServeHTTP(w, r)
		return
	case s.discovery.serve(s, w, r):
		return
	}
	ri, ok := parseRequestInfo(r)
	if !ok {
		s.writeError(w, r, notFoundPath(path))
		return
	}
	s.serveResource(w, r, ri)
}

func (s *Server) writeText(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(text))
}

// serveResource dispatches a resource request to its handler.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	gvr := schema.GroupVersionResource{Group: ri.Group, Version: ri.Version, Resource: ri.Resource}
	store := s.reg.Store(gvr)
	if store == nil {
		s.writeError(w, r, notFoundPath(r.URL.Path))
		return
	}
	k := store.Kind
	if !k.Namespaced && ri.Namespace != "" {
		s.writeError(w, r, notFoundPath(r.URL.Path))
		return
	}
	if k.Namespaced && ri.Namespace == "" && (ri.Name != "" || ri.Verb == "create" || ri.Verb == "deletecollection") {
		s.writeError(w, r, notFoundPath(r.URL.Path))
		return
	}
	h := &handler{s: s, store: store, ri: ri}
	switch ri.Subresource {
	case "":
		switch ri.Verb {
		case "get":
			h.get(w, r)
		case "list":
			h.list(w, r)
		case "watch":
			h.watch(w, r)
		case "create":
			h.create(w, r)
		case "update":
			h.update(w, r, "")
		case "patch":
			h.patch(w, r, "")
		case "delete":
			h.delete(w, r)
		case "deletecollection":
			h.deleteCollection(w, r)
		default:
			s.writeError(w, r, methodNotSupported(k.GroupResource(), r.Method))
		}
	case "status":
		if !k.HasStatus {
			s.writeError(w, r, notFoundPath(r.URL.Path))
			return
		}
		switch ri.Verb {
		case "get":
			h.get(w, r)
		case "update":
			h.update(w, r, "status")
		case "patch":
			h.patch(w, r, "status")
		default:
			s.writeError(w, r, methodNotSupported(k.GroupResource(), r.Method))
		}
	case "scale":
		if !k.HasScale {
			s.writeError(w, r, notFoundPath(r.URL.Path))
			return
		}
		switch ri.Verb {
		case "get":
			h.getScale(w, r)
		case "update":
			h.updateScale(w, r)
		case "patch":
			h.patchScale(w, r)
		default:
			s.writeError(w, r, methodNotSupported(k.GroupResource(), r.Method))
		}
	case "finalize":
		if ri.Resource != "namespaces" || ri.Verb != "update" {
			s.writeError(w, r, notFoundPath(r.URL.Path))
			return
		}
		h.update(w, r, "finalize")
	case "binding", "eviction":
		if ri.Resource != "pods" || ri.Verb != "create" {
			s.writeError(w, r, notFoundPath(r.URL.Path))
			return
		}
		h.podAction(w, r)
	case "log", "exec", "attach", "portforward", "proxy":
		if ri.Resource != "pods" {
			s.writeError(w, r, notFoundPath(r.URL.Path))
			return
		}
		if s.cfg.PodSubresources == nil {
			s.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("pods/%s is not available: no node agent serves it", ri.Subresource)))
			return
		}
		s.cfg.PodSubresources.ServeHTTP(w, r)
	default:
		s.writeError(w, r, notFoundPath(r.URL.Path))
	}
}

// Status answers for the verbs that return no object.
func successStatus(name string, gk schema.GroupKind, resource string, uid types.UID) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess,
		Details:  &metav1.StatusDetails{Name: name, Group: gk.Group, Kind: resource, UID: uid},
	}
}
