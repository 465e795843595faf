package registry

import (
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// What a create resets, per kind, as the Kubernetes strategies'
// PrepareForCreate do: status belongs to controllers and the kubelet.

func resetStatus(obj runtime.Object) {
	setField(obj, "Status", nil)
}

func preparePod(obj runtime.Object) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	// The QoS class is filled in by defaulting, which runs next.
	p.Status = corev1.PodStatus{Phase: corev1.PodPending}
}

func prepareService(obj runtime.Object) {
	if s, ok := obj.(*corev1.Service); ok {
		s.Status = corev1.ServiceStatus{}
	}
}

func prepareNamespace(obj runtime.Object) {
	n, ok := obj.(*corev1.Namespace)
	if !ok {
		return
	}
	n.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	// The namespace controller removes this finalizer once the namespace is
	// empty; until then a deleted namespace stays Terminating.
	if !hasNamespaceFinalizer(n) {
		n.Spec.Finalizers = append(n.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
}

func hasNamespaceFinalizer(n *corev1.Namespace) bool {
	for _, f := range n.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return true
		}
	}
	return false
}

func preparePVC(obj runtime.Object) {
	if c, ok := obj.(*corev1.PersistentVolumeClaim); ok {
		c.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
	}
}

func preparePV(obj runtime.Object) {
	if v, ok := obj.(*corev1.PersistentVolume); ok {
		v.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending}
	}
}

// structField returns the addressable field name of the struct obj points
// to, or an invalid Value when there is none. Every served type is a pointer
// to a struct with TypeMeta, ObjectMeta and usually Spec and Status.
func structField(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName(name)
}

// setField sets field name of obj to the same field of from, or to its zero
// value when from is nil.
func setField(obj runtime.Object, name string, from runtime.Object) {
	dst := structField(obj, name)
	if !dst.IsValid() || !dst.CanSet() {
		return
	}
	if from == nil {
		dst.Set(reflect.Zero(dst.Type()))
		return
	}
	src := structField(from, name)
	if src.IsValid() && src.Type() == dst.Type() {
		dst.Set(src)
	}
}

// copyAllBut copies every top-level field except TypeMeta, ObjectMeta and
// keep from from to obj (used by /status writes, which may change only
// status).
func copyAllBut(obj, from runtime.Object, keep string) {
	dst := reflect.ValueOf(obj).Elem()
	src := reflect.ValueOf(from).Elem()
	if dst.Type() != src.Type() {
		return
	}
	t := dst.Type()
	for i := 0; i < t.NumField(); i++ {
		switch t.Field(i).Name {
		case "TypeMeta", "ObjectMeta", keep:
			continue
		}
		dst.Field(i).Set(src.Field(i))
	}
}
