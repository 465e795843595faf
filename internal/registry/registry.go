package registry

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
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
	// ServiceCIDR is where ClusterIPs come from (default 127.96.0.0/16:
	// on loopback, so that a virtual IP is never sent off the machine).
	ServiceCIDR netip.Prefix
	// NodePortBase and NodePortCount give the NodePort range (default
	// 30000-32767).
	NodePortBase, NodePortCount int
}

// DefaultServiceCIDR is the service CIDR when none is configured.
var DefaultServiceCIDR = netip.MustParsePrefix("127.96.0.0/16")

// Registry holds a Store for every served kind.
type Registry struct {
	kinds  []*Kind
	stores map[schema.GroupVersionResource]*Store
	scheme *runtime.Scheme
	now    func() time.Time
	// serviceIPs allocates ClusterIPs (the kubernetes service takes the
	// first).
	serviceIPs *ipAllocator
}

// New builds the stores of every served kind.
func New(cfg Config) (*Registry, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if !cfg.ServiceCIDR.IsValid() {
		cfg.ServiceCIDR = DefaultServiceCIDR
	}
	if cfg.NodePortCount == 0 {
		cfg.NodePortBase, cfg.NodePortCount = 30000, 2768
	}
	ips, err := newIPAllocator(cfg.Storage, cfg.ServiceCIDR)
	if err != nil {
		return nil, err
	}
	alloc := &serviceAllocations{ips: ips, ports: &portAllocator{store: cfg.Storage, base: cfg.NodePortBase, count: cfg.NodePortCount}}
	tc := newGoTypeConverter(applyconfigurations.NewTypeConverter(cfg.Scheme), cfg.Scheme)
	r := &Registry{kinds: Kinds(), stores: map[schema.GroupVersionResource]*Store{}, scheme: cfg.Scheme, now: cfg.Now, serviceIPs: ips}
	for _, k := range r.kinds {
		s, err := newStore(k, cfg.Storage, cfg.Scheme, tc, cfg.Hooks, cfg.Now)
		if err != nil {
			return nil, err
		}
		if k.Namespaced {
			s.namespaceGate = r.namespaceAccepts
		}
		switch k.GVK {
		case corev1.SchemeGroupVersion.WithKind("Service"):
			s.onCreate, s.onUpdate, s.onDelete = alloc.onCreate, alloc.onUpdate, alloc.onDelete
		case corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"):
			s.onCreate = r.defaultStorageClass
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
	obj, err := r.stores[namespacesGVR].getRecent(ctx, "", ns)
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

// EnsureKubernetesService keeps the default/kubernetes Service (the first
// address of the service CIDR, port 443) and its Endpoints pointing at the
// API server at host:port, as kube-apiserver does on every start.
func (r *Registry) EnsureKubernetesService(ctx context.Context, host string, port int) error {
	return r.ensureSystemService(ctx, metav1.NamespaceDefault, "kubernetes", r.serviceIPs.nth(0).String(),
		map[string]string{"component": "apiserver", "provider": "kubernetes"},
		[]corev1.ServicePort{{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(int32(port))}},
		host, []corev1.EndpointPort{{Name: "https", Port: int32(port), Protocol: corev1.ProtocolTCP}})
}

// DNSServiceIP is the kube-dns Service's address: the tenth of the service
// CIDR, where clusters conventionally place it.
func (r *Registry) DNSServiceIP() string { return r.serviceIPs.nth(9).String() }

// EnsureDNSService keeps the kube-system/kube-dns Service on ip, with
// Endpoints at ip and port (where skiff's DNS listens).
func (r *Registry) EnsureDNSService(ctx context.Context, ip string, port int) error {
	target := intstr.FromInt32(int32(port))
	return r.ensureSystemService(ctx, metav1.NamespaceSystem, "kube-dns", ip,
		map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true"},
		[]corev1.ServicePort{
			{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, TargetPort: target},
			{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53, TargetPort: target},
		},
		ip, []corev1.EndpointPort{{Name: "dns", Port: int32(port), Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Port: int32(port), Protocol: corev1.ProtocolTCP}})
}

// ensureSystemService creates or updates a selector-less Service of the
// control plane at clusterIP, and its Endpoints at host with ports.
func (r *Registry) ensureSystemService(ctx context.Context, ns, name, clusterIP string, labels map[string]string, ports []corev1.ServicePort, host string, epPorts []corev1.EndpointPort) error {
	svcs := r.stores[corev1.SchemeGroupVersion.WithResource("services")]
	eps := r.stores[corev1.SchemeGroupVersion.WithResource("endpoints")]
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: clusterIP, Ports: ports,
			SessionAffinity: corev1.ServiceAffinityNone},
	}
	_, err := svcs.Get(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		_, err = svcs.Create(ctx, svc, CreateOptions{FieldManager: "kube-apiserver"})
	} else if err == nil {
		_, _, err = svcs.Update(ctx, ns, name, func(cur runtime.Object) (runtime.Object, error) {
			s := cur.(*corev1.Service)
			s.Spec.Ports = ports
			s.ResourceVersion = ""
			return s, nil
		}, UpdateOptions{FieldManager: "kube-apiserver"})
	}
	if err != nil {
		return fmt.Errorf("%s service: %w", name, err)
	}
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: host}}, Ports: epPorts}},
	}
	_, _, err = eps.Update(ctx, ns, name, func(cur runtime.Object) (runtime.Object, error) {
		return ep.DeepCopy(), nil
	}, UpdateOptions{FieldManager: "kube-apiserver", CreateIfMissing: true})
	if err != nil {
		return fmt.Errorf("%s endpoints: %w", name, err)
	}
	// The EndpointSlice too, as kube-apiserver's endpoint reconciler
	// writes it (the Endpoints are marked not to be mirrored).
	slices := r.stores[discoveryv1.SchemeGroupVersion.WithResource("endpointslices")]
	ready := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
	for _, p := range epPorts {
		p := p
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: &p.Name, Port: &p.Port, Protocol: &p.Protocol})
	}
	_, _, err = slices.Update(ctx, ns, name, func(cur runtime.Object) (runtime.Object, error) {
		return slice.DeepCopy(), nil
	}, UpdateOptions{FieldManager: "kube-apiserver", CreateIfMissing: true})
	if err != nil {
		return fmt.Errorf("%s endpointslice: %w", name, err)
	}
	return nil
}

// isDefaultClassAnnotations mark the default StorageClass (and its beta
// spelling, still honoured upstream).
var isDefaultClassAnnotations = []string{"storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"}

// defaultStorageClass is the DefaultStorageClass admission plugin: a new
// claim that names no class gets the default one (the newest, when
// several are marked default).
func (r *Registry) defaultStorageClass(ctx context.Context, obj runtime.Object) (func(), error) {
	noop := func() {}
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok || pvc.Spec.StorageClassName != nil {
		return noop, nil
	}
	classes := r.stores[storagev1.SchemeGroupVersion.WithResource("storageclasses")]
	items, err := classes.listRecent(ctx, classes.prefix)
	if err != nil {
		return noop, nil // admission is best effort, as upstream's lister-based plugin
	}
	var chosen *storagev1.StorageClass
	for _, kv := range items {
		o, err := classes.sharedFromKV(kv)
		if err != nil {
			continue
		}
		sc := o.(*storagev1.StorageClass)
		isDefault := false
		for _, a := range isDefaultClassAnnotations {
			isDefault = isDefault || sc.Annotations[a] == "true"
		}
		if isDefault && (chosen == nil || sc.CreationTimestamp.After(chosen.CreationTimestamp.Time) ||
			sc.CreationTimestamp.Equal(&chosen.CreationTimestamp) && sc.Name < chosen.Name) {
			chosen = sc
		}
	}
	if chosen != nil {
		name := chosen.Name
		pvc.Spec.StorageClassName = &name
	}
	return noop, nil
}
