package registry

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kind describes one served resource: its names for discovery, its scope
// and which of the generic behaviours apply to it.
type Kind struct {
	GVK          schema.GroupVersionKind
	Resource     string // plural, lower case
	SingularName string
	ShortNames   []string
	Categories   []string
	Namespaced   bool

	// HasStatus: the resource has a status subresource; writes to the main
	// resource keep the stored status and writes to /status keep the rest.
	HasStatus bool
	// HasScale: the resource has a scale subresource (autoscaling/v1 Scale)
	// over spec.replicas.
	HasScale bool
	// TracksGeneration: metadata.generation starts at 1 and bumps whenever
	// the spec changes.
	TracksGeneration bool
	// AllowCreateOnUpdate: PUT of a missing object creates it.
	AllowCreateOnUpdate bool
	// CreatedAlike: controllers create many objects of the kind alike from
	// one template (pods of a ReplicaSet, Job or DaemonSet), so the
	// managedFields of creates are memoized (see createFields).
	CreatedAlike bool

	// fields returns the kind-specific selectable fields (metadata.name and
	// metadata.namespace are added for every kind). Nil for none.
	fields func(obj runtime.Object) map[string]string
	// prepareForCreate resets what a client may not set on create (status).
	prepareForCreate func(obj runtime.Object)
}

// GroupResource returns the kind's group and resource.
func (k *Kind) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: k.GVK.Group, Resource: k.Resource}
}

// GroupVersionResource returns the kind's group, version and resource.
func (k *Kind) GroupVersionResource() schema.GroupVersionResource {
	return k.GVK.GroupVersion().WithResource(k.Resource)
}

// ListGVK is the kind of the kind's lists.
func (k *Kind) ListGVK() schema.GroupVersionKind {
	return k.GVK.GroupVersion().WithKind(k.GVK.Kind + "List")
}

var (
	core         = corev1.SchemeGroupVersion
	apps         = appsv1.SchemeGroupVersion
	discovery    = discoveryv1.SchemeGroupVersion
	coordination = coordinationv1.SchemeGroupVersion
	events       = eventsv1.SchemeGroupVersion
	storageGV    = storagev1.SchemeGroupVersion
)

// Kinds returns the served resources, in discovery order. Each call returns
// fresh values.
func Kinds() []*Kind {
	all := []string{"all"}
	return []*Kind{
		{GVK: core.WithKind("Namespace"), Resource: "namespaces", SingularName: "namespace", ShortNames: []string{"ns"}, HasStatus: true,
			fields: namespaceFields, prepareForCreate: prepareNamespace},
		{GVK: core.WithKind("Pod"), Resource: "pods", SingularName: "pod", ShortNames: []string{"po"}, Categories: all, Namespaced: true, HasStatus: true, TracksGeneration: true, CreatedAlike: true,
			fields: podFields, prepareForCreate: preparePod},
		{GVK: core.WithKind("Service"), Resource: "services", SingularName: "service", ShortNames: []string{"svc"}, Categories: all, Namespaced: true, HasStatus: true,
			fields: serviceFields, prepareForCreate: prepareService},
		{GVK: core.WithKind("Endpoints"), Resource: "endpoints", SingularName: "endpoints", ShortNames: []string{"ep"}, Namespaced: true, AllowCreateOnUpdate: true},
		{GVK: core.WithKind("Node"), Resource: "nodes", SingularName: "node", ShortNames: []string{"no"}, HasStatus: true,
			fields: nodeFields},
		{GVK: core.WithKind("Event"), Resource: "events", SingularName: "event", ShortNames: []string{"ev"}, Namespaced: true, AllowCreateOnUpdate: true,
			fields: eventFields},
		{GVK: core.WithKind("ConfigMap"), Resource: "configmaps", SingularName: "configmap", ShortNames: []string{"cm"}, Namespaced: true},
		{GVK: core.WithKind("Secret"), Resource: "secrets", SingularName: "secret", Namespaced: true,
			fields: secretFields},
		{GVK: core.WithKind("ServiceAccount"), Resource: "serviceaccounts", SingularName: "serviceaccount", ShortNames: []string{"sa"}, Namespaced: true},
		{GVK: core.WithKind("PersistentVolumeClaim"), Resource: "persistentvolumeclaims", SingularName: "persistentvolumeclaim", ShortNames: []string{"pvc"}, Namespaced: true, HasStatus: true,
			prepareForCreate: preparePVC},
		{GVK: core.WithKind("PersistentVolume"), Resource: "persistentvolumes", SingularName: "persistentvolume", ShortNames: []string{"pv"}, HasStatus: true,
			prepareForCreate: preparePV},
		{GVK: apps.WithKind("Deployment"), Resource: "deployments", SingularName: "deployment", ShortNames: []string{"deploy"}, Categories: all, Namespaced: true, HasStatus: true, HasScale: true, TracksGeneration: true,
			prepareForCreate: resetStatus},
		{GVK: apps.WithKind("ReplicaSet"), Resource: "replicasets", SingularName: "replicaset", ShortNames: []string{"rs"}, Categories: all, Namespaced: true, HasStatus: true, HasScale: true, TracksGeneration: true,
			fields: replicaSetFields, prepareForCreate: resetStatus},
		{GVK: apps.WithKind("StatefulSet"), Resource: "statefulsets", SingularName: "statefulset", ShortNames: []string{"sts"}, Categories: all, Namespaced: true, HasStatus: true, HasScale: true, TracksGeneration: true,
			prepareForCreate: resetStatus},
		{GVK: apps.WithKind("DaemonSet"), Resource: "daemonsets", SingularName: "daemonset", ShortNames: []string{"ds"}, Categories: all, Namespaced: true, HasStatus: true, TracksGeneration: true,
			prepareForCreate: resetStatus},
		{GVK: apps.WithKind("ControllerRevision"), Resource: "controllerrevisions", SingularName: "controllerrevision", Namespaced: true},
		{GVK: discovery.WithKind("EndpointSlice"), Resource: "endpointslices", SingularName: "endpointslice", Namespaced: true},
		{GVK: coordination.WithKind("Lease"), Resource: "leases", SingularName: "lease", Namespaced: true},
		{GVK: events.WithKind("Event"), Resource: "events", SingularName: "event", ShortNames: []string{"ev"}, Namespaced: true,
			fields: eventsV1Fields},
		{GVK: storageGV.WithKind("StorageClass"), Resource: "storageclasses", SingularName: "storageclass", ShortNames: []string{"sc"}},
	}
}

// NewScheme returns a scheme holding every served type, the types of their
// subresources and the meta types of each group version.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, discoveryv1.AddToScheme,
		coordinationv1.AddToScheme, eventsv1.AddToScheme, storagev1.AddToScheme,
		autoscalingv1.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	// Table, PartialObjectMetadata and the option types under meta.k8s.io/v1;
	// each AddToScheme above already added Status, WatchEvent and the
	// options to its own group version.
	if err := metav1.AddMetaToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}
