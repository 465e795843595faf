package defaulting

import (
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Default fills defaults in place on any served object; it is a no-op for
// kinds it does not know and for nil objects.
func Default(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		if o != nil {
			defaultPod(o)
		}
	case *corev1.PodTemplate:
		if o != nil {
			defaultPodTemplateSpec(&o.Template)
		}
	case *corev1.Service:
		if o != nil {
			defaultService(o)
		}
	case *corev1.Secret:
		if o != nil {
			defaultSecret(o)
		}
	case *corev1.Namespace:
		if o != nil {
			defaultNamespace(o)
		}
	case *corev1.Node:
		if o != nil {
			defaultNode(o)
		}
	case *corev1.Endpoints:
		if o != nil {
			defaultEndpoints(o)
		}
	case *corev1.PersistentVolumeClaim:
		if o != nil {
			defaultPVC(o)
		}
	case *corev1.PersistentVolume:
		if o != nil {
			defaultPV(o)
		}
	case *appsv1.Deployment:
		if o != nil {
			defaultDeployment(o)
		}
	case *appsv1.ReplicaSet:
		if o != nil {
			defaultReplicaSet(o)
		}
	case *appsv1.StatefulSet:
		if o != nil {
			defaultStatefulSet(o)
		}
	case *appsv1.DaemonSet:
		if o != nil {
			defaultDaemonSet(o)
		}
	case *discoveryv1.EndpointSlice:
		if o != nil {
			defaultEndpointSlice(o)
		}
	case *storagev1.StorageClass:
		if o != nil {
			defaultStorageClass(o)
		}
	case *coordinationv1.Lease, *corev1.ConfigMap, *corev1.ServiceAccount, *corev1.Event:
		// No defaults upstream.
	case *corev1.PodList:
		if o != nil {
			for i := range o.Items {
				defaultPod(&o.Items[i])
			}
		}
	}
}
