package registry

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Scale returns the autoscaling/v1 Scale of a scalable object.
func (s *Store) Scale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	a, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	sc := &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{
			Name: a.GetName(), Namespace: a.GetNamespace(), UID: a.GetUID(),
			ResourceVersion: a.GetResourceVersion(), CreationTimestamp: a.GetCreationTimestamp(),
		},
	}
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		sc.Spec.Replicas = deref(o.Spec.Replicas, 1)
		sc.Status.Replicas = o.Status.Replicas
		sel = o.Spec.Selector
	case *appsv1.ReplicaSet:
		sc.Spec.Replicas = deref(o.Spec.Replicas, 1)
		sc.Status.Replicas = o.Status.Replicas
		sel = o.Spec.Selector
	case *appsv1.StatefulSet:
		sc.Spec.Replicas = deref(o.Spec.Replicas, 1)
		sc.Status.Replicas = o.Status.Replicas
		sel = o.Spec.Selector
	default:
		return nil, apierrors.NewNotFound(s.Kind.GroupResource(), a.GetName())
	}
	if sel != nil {
		if ls, err := metav1.LabelSelectorAsSelector(sel); err == nil {
			sc.Status.Selector = ls.String()
		}
	}
	return sc, nil
}

// SetReplicas returns an UpdateFunc that sets spec.replicas from a Scale,
// honouring the Scale's resourceVersion as a precondition.
func (s *Store) SetReplicas(scale *autoscalingv1.Scale) UpdateFunc {
	return func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(s.Kind.GroupResource(), scale.Name)
		}
		if scale.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(autoscalingv1.SchemeGroupVersion.WithKind("Scale").GroupKind(), scale.Name, field.ErrorList{
				field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas, "must be greater than or equal to 0"),
			})
		}
		a, _ := meta.Accessor(cur)
		if scale.ResourceVersion != "" && scale.ResourceVersion != a.GetResourceVersion() {
			return nil, s.conflict(scale.Name)
		}
		a.SetResourceVersion("")
		n := scale.Spec.Replicas
		switch o := cur.(type) {
		case *appsv1.Deployment:
			o.Spec.Replicas = &n
		case *appsv1.ReplicaSet:
			o.Spec.Replicas = &n
		case *appsv1.StatefulSet:
			o.Spec.Replicas = &n
		}
		return cur, nil
	}
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// Bind assigns a pod to a node (pods/binding), as the scheduler does:
// it fails with 409 when the pod is already bound or being deleted.
func (s *Store) Bind(ctx context.Context, ns string, b *corev1.Binding) (runtime.Object, error) {
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), b.Name, field.ErrorList{
			field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}),
		})
	}
	if b.Target.Name == "" {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), b.Name, field.ErrorList{
			field.Required(field.NewPath("target", "name"), ""),
		})
	}
	_, _, err := s.Update(ctx, ns, b.Name, func(cur runtime.Object) (runtime.Object, error) {
		pod := cur.(*corev1.Pod)
		if b.UID != "" && pod.UID != b.UID {
			return nil, apierrors.NewConflict(s.Kind.GroupResource(), b.Name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
		}
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(s.Kind.GroupResource(), b.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", b.Name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(s.Kind.GroupResource(), b.Name, fmt.Errorf("pod %v is already assigned to node %q", b.Name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(s.now())})
		return pod, nil
	}, bindOptions)
	if err != nil {
		return nil, err
	}
	return &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: 201}, nil
}

// bindOptions: a binding writes spec.nodeName and the PodScheduled
// condition, which neither the main resource nor /status may write alone;
// it bypasses the spec/status split and the update validation of the spec.
var bindOptions = UpdateOptions{Subresource: "binding"}

func setPodCondition(st *corev1.PodStatus, c corev1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status {
				return
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// Evict deletes a pod through the eviction subresource. skiff serves no
// PodDisruptionBudgets, so an eviction is always allowed, as it is in
// Kubernetes for a pod that no budget covers.
func (s *Store) Evict(ctx context.Context, ns string, ev *policyv1.Eviction) (runtime.Object, error) {
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if _, _, err := s.Delete(ctx, ns, ev.Name, opts); err != nil {
		return nil, err
	}
	return &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: 201}, nil
}
