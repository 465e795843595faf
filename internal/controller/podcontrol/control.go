package podcontrol

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// Event reasons, as Kubernetes' controller.PodControl records them.
const (
	FailedCreateReason     = "FailedCreate"
	SuccessfulCreateReason = "SuccessfulCreate"
	FailedDeleteReason     = "FailedDelete"
	SuccessfulDeleteReason = "SuccessfulDelete"
)

// Control creates and deletes pods for an owner and records events on the
// owner.
type Control struct {
	Client   kubernetes.Interface
	Recorder record.EventRecorder
}

// FromTemplate builds the pod a controller creates from its template:
// labels, annotations and finalizers copied, generateName "<owner>-"
// (just "<owner>" when the dash would make an invalid prefix) and the
// given controller reference.
func FromTemplate(template *corev1.PodTemplateSpec, ownerName string, ref *metav1.OwnerReference) *corev1.Pod {
	prefix := ownerName + "-"
	if len(apivalidation.NameIsDNSSubdomain(prefix, true)) != 0 {
		prefix = ownerName
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: prefix,
			Labels:       copyMap(template.Labels),
			Annotations:  copyMap(template.Annotations),
			Finalizers:   append([]string(nil), template.Finalizers...),
		},
	}
	if ref != nil {
		pod.OwnerReferences = append(pod.OwnerReferences, *ref)
	}
	pod.Spec = *template.Spec.DeepCopy()
	return pod
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// CreatePod creates one pod from template in namespace for owner.
func (c Control) CreatePod(ctx context.Context, namespace string, template *corev1.PodTemplateSpec, owner runtime.Object, ownerName string, ref *metav1.OwnerReference) error {
	pod := FromTemplate(template, ownerName, ref)
	if len(labels.Set(pod.Labels)) == 0 {
		return fmt.Errorf("unable to create pods, no labels")
	}
	created, err := c.Client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		// A terminating namespace refuses every create; Kubernetes keeps
		// quiet about it rather than flooding events.
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.Recorder.Eventf(owner, corev1.EventTypeWarning, FailedCreateReason, "Error creating: %v", err)
		}
		return err
	}
	c.Recorder.Eventf(owner, corev1.EventTypeNormal, SuccessfulCreateReason, "Created pod: %v", created.Name)
	return nil
}

// DeletePod deletes the named pod of owner. A pod that is already gone
// is reported as the NotFound error, without an event.
func (c Control) DeletePod(ctx context.Context, namespace, name string, owner runtime.Object) error {
	err := c.Client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		c.Recorder.Eventf(owner, corev1.EventTypeWarning, FailedDeleteReason, "Error deleting: %v", err)
		return fmt.Errorf("unable to delete pods: %w", err)
	}
	c.Recorder.Eventf(owner, corev1.EventTypeNormal, SuccessfulDeleteReason, "Deleted pod: %v", name)
	return nil
}
