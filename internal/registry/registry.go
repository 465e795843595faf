package registry

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/applyconfigurations"

	"github.com/skiff-dev/skiff/internal/storage"
)

// Config wires a Registry.
type Config struct {
	Storage storage.Interface
	Scheme  *runtime.Scheme
	Hooks   Hooks
	// Now is the clock for timestamps (creation, deletion).
	Now func() time.Time
}

// Registry holds a Store for every served kind.
type Registry struct {
	kinds  []*Kind
	stores map[schema.GroupVersionResource]*Store
	scheme *runtime.Scheme
	now    func() time.Time
}

// New builds the stores of every served kind.
func New(cfg Config) (*Registry, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tc := applyconfigurations.NewTypeConverter(cfg.Scheme)
	r := &Registry{kinds: Kinds(), stores: map[schema.GroupVersionResource]*Store{}, scheme: cfg.Scheme, now: cfg.Now}
	for _, k := range r.kinds {
		s, err := newStore(k, cfg.Storage, cfg.Scheme, tc, cfg.Hooks, cfg.Now)
		if err != nil {
			return nil, err
		}
		if k.Namespaced {
			s.namespaceGate = r.namespaceAccepts
		}
		r.stores[k.GroupVersionResource()] = s
	}
	return r, nil
}

// Kinds returns the served kinds in discovery order.
func (r *Registry) Kinds() []*Kind { return r.kinds }

// Store returns the store of a group-version-resource, or nil.
func (r *Registry) Store(gvr schema.GroupVersionResource) *Store { return r.stores[gvr] }

// Scheme is the scheme every store decodes with.
func (r *Registry) Scheme() *runtime.Scheme { return r.scheme }

// Stores returns every store, in discovery order.
func (r *Registry) Stores() []*Store {
	out := make([]*Store, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, r.stores[k.GroupVersionResource()])
	}
	return out
}

var namespacesGVR = corev1.SchemeGroupVersion.WithResource("namespaces")

// namespaceAccepts is the NamespaceLifecycle admission check: new content
// only in namespaces that exist and are not being deleted.
func (r *Registry) namespaceAccepts(ctx context.Context, ns string) error {
	obj, err := r.stores[namespacesGVR].Get(ctx, "", ns)
	if err != nil {
		return err
	}
	n := obj.(*corev1.Namespace)
	if n.DeletionTimestamp != nil || n.Status.Phase == corev1.NamespaceTerminating {
		err := apierrors.NewForbidden(namespacesGVR.GroupResource(), ns,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    corev1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", ns),
			Field:   "metadata.namespace",
		})
		return err
	}
	return nil
}

// SystemNamespaces exist from the start, as in Kubernetes.
var SystemNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease}

// EnsureSystemNamespaces creates the system namespaces that are missing.
func (r *Registry) EnsureSystemNamespaces(ctx context.Context) error {
	s := r.stores[namespacesGVR]
	for _, name := range SystemNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := s.Create(ctx, ns, CreateOptions{FieldManager: "skiff"}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	return nil
}
