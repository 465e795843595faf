package validation

import (
	"reflect"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateCreate validates a new, defaulted and named object. It returns nil
// for valid objects and for kinds it does not know.
func ValidateCreate(obj runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Pod:
		if o != nil {
			return validatePod(o)
		}
	case *corev1.Service:
		if o != nil {
			return validateService(o)
		}
	case *corev1.ConfigMap:
		if o != nil {
			return validateConfigMap(o)
		}
	case *corev1.Secret:
		if o != nil {
			return validateSecret(o)
		}
	case *corev1.Namespace:
		if o != nil {
			return validateNamespace(o)
		}
	case *corev1.Node:
		if o != nil {
			return validateNode(o)
		}
	case *corev1.ServiceAccount:
		if o != nil {
			return validateServiceAccount(o)
		}
	case *corev1.Endpoints:
		if o != nil {
			return validateEndpoints(o)
		}
	case *corev1.PersistentVolumeClaim:
		if o != nil {
			return validatePVC(o)
		}
	case *corev1.PersistentVolume:
		if o != nil {
			return validatePV(o)
		}
	case *corev1.Event:
		if o != nil {
			return validateEvent(o)
		}
	case *corev1.PodTemplate:
		if o != nil {
			errs := validateObjectMeta(&o.ObjectMeta, true, nameIsDNSSubdomain)
			return append(errs, validatePodTemplateSpec(&o.Template, field.NewPath("template"), podOpts{})...)
		}
	case *appsv1.Deployment:
		if o != nil {
			return validateDeployment(o)
		}
	case *appsv1.ReplicaSet:
		if o != nil {
			return validateReplicaSet(o)
		}
	case *appsv1.StatefulSet:
		if o != nil {
			return validateStatefulSet(o)
		}
	case *appsv1.DaemonSet:
		if o != nil {
			return validateDaemonSet(o)
		}
	case *appsv1.ControllerRevision:
		if o != nil {
			return validateControllerRevision(o)
		}
	case *discoveryv1.EndpointSlice:
		if o != nil {
			return validateEndpointSlice(o)
		}
	case *coordinationv1.Lease:
		if o != nil {
			return validateLease(o)
		}
	case *eventsv1.Event:
		if o != nil {
			return validateEventsV1(o)
		}
	case *storagev1.StorageClass:
		if o != nil {
			return validateStorageClass(o)
		}
	case *autoscalingv1.Scale:
		if o != nil {
			return validateScale(o)
		}
	}
	return nil
}

// ValidateUpdate validates an update of old to obj: the new object must be
// valid and the change must respect Kubernetes' immutability rules. Objects
// of different kinds, nil objects and unknown kinds yield no errors.
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Pod:
		if p, ok := old.(*corev1.Pod); ok && o != nil && p != nil {
			return validatePodUpdate(o, p)
		}
	case *corev1.Service:
		if p, ok := old.(*corev1.Service); ok && o != nil && p != nil {
			return validateServiceUpdate(o, p)
		}
	case *corev1.ConfigMap:
		if p, ok := old.(*corev1.ConfigMap); ok && o != nil && p != nil {
			return validateConfigMapUpdate(o, p)
		}
	case *corev1.Secret:
		if p, ok := old.(*corev1.Secret); ok && o != nil && p != nil {
			return validateSecretUpdate(o, p)
		}
	case *corev1.Namespace:
		if p, ok := old.(*corev1.Namespace); ok && o != nil && p != nil {
			return append(validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateNamespace(o)...)
		}
	case *corev1.Node:
		if p, ok := old.(*corev1.Node); ok && o != nil && p != nil {
			return validateNodeUpdate(o, p)
		}
	case *corev1.ServiceAccount:
		if p, ok := old.(*corev1.ServiceAccount); ok && o != nil && p != nil {
			return append(validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateServiceAccount(o)...)
		}
	case *corev1.Endpoints:
		if p, ok := old.(*corev1.Endpoints); ok && o != nil && p != nil {
			return append(validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateEndpoints(o)...)
		}
	case *corev1.PersistentVolumeClaim:
		if p, ok := old.(*corev1.PersistentVolumeClaim); ok && o != nil && p != nil {
			return validatePVCUpdate(o, p)
		}
	case *corev1.PersistentVolume:
		if p, ok := old.(*corev1.PersistentVolume); ok && o != nil && p != nil {
			errs := append(validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validatePV(o)...)
			if !apiequality.Semantic.DeepEqual(o.Spec.PersistentVolumeSource, p.Spec.PersistentVolumeSource) {
				diff := cmp.Diff(p.Spec.PersistentVolumeSource, o.Spec.PersistentVolumeSource)
				errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), "spec.persistentvolumesource is immutable after creation\n"+diff))
			}
			return append(errs, immutable(o.Spec.VolumeMode, p.Spec.VolumeMode, field.NewPath("volumeMode"))...)
		}
	case *corev1.Event:
		if p, ok := old.(*corev1.Event); ok && o != nil && p != nil {
			return append(validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateEvent(o)...)
		}
	case *corev1.PodTemplate:
		if p, ok := old.(*corev1.PodTemplate); ok && o != nil && p != nil {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta)
			return append(errs, validatePodTemplateSpec(&o.Template, field.NewPath("template"), podOpts{})...)
		}
	case *appsv1.Deployment:
		if p, ok := old.(*appsv1.Deployment); ok && o != nil && p != nil {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta)
			errs = append(errs, validateDeploymentSpec(&o.Spec, field.NewPath("spec"))...)
			return append(errs, selectorImmutable(o.Spec.Selector, p.Spec.Selector)...)
		}
	case *appsv1.ReplicaSet:
		if p, ok := old.(*appsv1.ReplicaSet); ok && o != nil && p != nil {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta)
			errs = append(errs, validateReplicaSetSpec(&o.Spec, field.NewPath("spec"))...)
			return append(errs, selectorImmutable(o.Spec.Selector, p.Spec.Selector)...)
		}
	case *appsv1.StatefulSet:
		if p, ok := old.(*appsv1.StatefulSet); ok && o != nil && p != nil {
			return validateStatefulSetUpdate(o, p)
		}
	case *appsv1.DaemonSet:
		if p, ok := old.(*appsv1.DaemonSet); ok && o != nil && p != nil {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta)
			errs = append(errs, validateDaemonSetSpec(&o.Spec, field.NewPath("spec"))...)
			return append(errs, selectorImmutable(o.Spec.Selector, p.Spec.Selector)...)
		}
	case *appsv1.ControllerRevision:
		if p, ok := old.(*appsv1.ControllerRevision); ok && o != nil && p != nil {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta)
			errs = append(errs, validateControllerRevision(o)...)
			if !apiequality.Semantic.DeepEqual(o.Data, p.Data) {
				errs = append(errs, field.Invalid(field.NewPath("data"), o.Data, "field is immutable"))
			}
			return errs
		}
	case *discoveryv1.EndpointSlice:
		if p, ok := old.(*discoveryv1.EndpointSlice); ok && o != nil && p != nil {
			errs := append(validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateEndpointSlice(o)...)
			return append(errs, immutable(o.AddressType, p.AddressType, field.NewPath("addressType"))...)
		}
	case *coordinationv1.Lease:
		if p, ok := old.(*coordinationv1.Lease); ok && o != nil && p != nil {
			return append(validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateLease(o)...)
		}
	case *eventsv1.Event:
		if p, ok := old.(*eventsv1.Event); ok && o != nil && p != nil {
			return append(validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateEventsV1(o)...)
		}
	case *storagev1.StorageClass:
		if p, ok := old.(*storagev1.StorageClass); ok && o != nil && p != nil {
			return append(validateStorageClassUpdate(o, p), validateStorageClass(o)...)
		}
	case *autoscalingv1.Scale:
		if o != nil {
			return validateScale(o)
		}
	}
	return nil
}

// ValidateStatusUpdate validates a write to the /status subresource. The
// caller is expected to have kept the old spec (as Kubernetes' status
// strategies do); this checks metadata rules and the status itself.
func ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	statusPath := field.NewPath("status")
	switch o := obj.(type) {
	case *corev1.Pod:
		if p, ok := old.(*corev1.Pod); ok && o != nil && p != nil {
			return validatePodStatusUpdate(o, p)
		}
	case *corev1.Service:
		if p, ok := old.(*corev1.Service); ok && o != nil && p != nil {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta)
			return append(errs, validateLoadBalancerStatus(&o.Status.LoadBalancer, &o.Spec, statusPath.Child("loadBalancer"))...)
		}
	case *corev1.Namespace:
		if p, ok := old.(*corev1.Namespace); ok && o != nil && p != nil {
			return validateNamespaceStatusUpdate(o, p)
		}
	case *corev1.Node:
		if p, ok := old.(*corev1.Node); ok && o != nil && p != nil {
			return validateNodeUpdate(o, p)
		}
	case *appsv1.Deployment:
		if p, ok := old.(*appsv1.Deployment); ok && o != nil && p != nil {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta)
			errs = append(errs, validateDeploymentStatus(&o.Status, statusPath)...)
			return append(errs, collisionCountDecrement(o.Status.CollisionCount, p.Status.CollisionCount)...)
		}
	case *appsv1.ReplicaSet:
		if p, ok := old.(*appsv1.ReplicaSet); ok && o != nil && p != nil {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta)
			return append(errs, validateReplicaSetStatus(&o.Status, statusPath)...)
		}
	case *appsv1.StatefulSet:
		if p, ok := old.(*appsv1.StatefulSet); ok && o != nil && p != nil {
			errs := validateStatefulSetStatus(&o.Status, statusPath)
			errs = append(errs, validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta)...)
			return append(errs, collisionCountDecrement(o.Status.CollisionCount, p.Status.CollisionCount)...)
		}
	case *appsv1.DaemonSet:
		if p, ok := old.(*appsv1.DaemonSet); ok && o != nil && p != nil {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta)
			errs = append(errs, validateDaemonSetStatus(&o.Status, statusPath)...)
			return append(errs, collisionCountDecrement(o.Status.CollisionCount, p.Status.CollisionCount)...)
		}
	}
	if om, oo := objectMeta(obj), objectMeta(old); om != nil && oo != nil {
		return validateObjectMetaUpdate(om, oo)
	}
	return nil
}

// objectMeta returns the ObjectMeta of a typed object, nil otherwise.
func objectMeta(obj runtime.Object) *metav1.ObjectMeta {
	if v := reflect.ValueOf(obj); !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return nil
	}
	type metaObject interface{ GetObjectMeta() metav1.Object }
	mo, ok := obj.(metaObject)
	if !ok {
		return nil
	}
	m, ok := mo.GetObjectMeta().(*metav1.ObjectMeta)
	if !ok {
		return nil
	}
	return m
}

// selectorImmutable is the apps/v1 strategies' rule: spec.selector may not
// change after creation.
func selectorImmutable(sel, old *metav1.LabelSelector) field.ErrorList {
	return immutable(sel, old, field.NewPath("spec", "selector"))
}

func validateScale(s *autoscalingv1.Scale) field.ErrorList {
	errs := validateObjectMeta(&s.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateNonnegative(int64(s.Spec.Replicas), field.NewPath("spec", "replicas"))...)
}
