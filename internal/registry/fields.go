package registry

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The selectable fields of each kind, as Kubernetes' registries define them
// (GetAttrs / ToSelectableFields). metadata.name and metadata.namespace are
// added for every kind by Store.

func podFields(obj runtime.Object) map[string]string {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	f := map[string]string{
		"spec.nodeName":            p.Spec.NodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}
	// status.podIP is the first of status.podIPs, as upstream selects it.
	f["status.podIP"] = p.Status.PodIP
	if len(p.Status.PodIPs) > 0 {
		f["status.podIP"] = p.Status.PodIPs[0].IP
	}
	return f
}

func serviceFields(obj runtime.Object) map[string]string {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return nil
	}
	return map[string]string{
		"spec.clusterIP": s.Spec.ClusterIP,
		"spec.type":      string(s.Spec.Type),
	}
}

func nodeFields(obj runtime.Object) map[string]string {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return nil
	}
	return map[string]string{"spec.unschedulable": strconv.FormatBool(n.Spec.Unschedulable)}
}

func namespaceFields(obj runtime.Object) map[string]string {
	n, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil
	}
	return map[string]string{"status.phase": string(n.Status.Phase)}
}

func secretFields(obj runtime.Object) map[string]string {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return nil
	}
	return map[string]string{"type": string(s.Type)}
}

func replicaSetFields(obj runtime.Object) map[string]string {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return nil
	}
	return map[string]string{"status.replicas": strconv.Itoa(int(rs.Status.Replicas))}
}

func eventFields(obj runtime.Object) map[string]string {
	e, ok := obj.(*corev1.Event)
	if !ok {
		return nil
	}
	return map[string]string{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         e.Source.Component,
		"type":                           e.Type,
	}
}

func eventsV1Fields(obj runtime.Object) map[string]string {
	e, ok := obj.(*eventsv1.Event)
	if !ok {
		return nil
	}
	return map[string]string{
		"regarding.kind":      e.Regarding.Kind,
		"regarding.namespace": e.Regarding.Namespace,
		"regarding.name":      e.Regarding.Name,
		"regarding.uid":       string(e.Regarding.UID),
		"reason":              e.Reason,
		"reportingController": e.ReportingController,
		"type":                e.Type,
	}
}
