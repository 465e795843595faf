package validation

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

// validatePodUpdate is core's ValidatePodUpdate.
func validatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := validateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodMetadataAndSpec(pod)...)
	errs = append(errs, validateMirrorAnnotationUpdate(pod, old)...)
	spec := field.NewPath("spec")
	ce, stop := validateContainerUpdates(pod.Spec.Containers, old.Spec.Containers, spec.Child("containers"))
	errs = append(errs, ce...)
	if stop {
		return errs
	}
	ce, stop = validateContainerUpdates(pod.Spec.InitContainers, old.Spec.InitContainers, spec.Child("initContainers"))
	errs = append(errs, ce...)
	if stop {
		return errs
	}
	if pod.Spec.ActiveDeadlineSeconds != nil {
		v := *pod.Spec.ActiveDeadlineSeconds
		if v < 0 || v > math.MaxInt32 {
			return append(errs, field.Invalid(spec.Child("activeDeadlineSeconds"), v, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if old.Spec.ActiveDeadlineSeconds != nil && *old.Spec.ActiveDeadlineSeconds < v {
			return append(errs, field.Invalid(spec.Child("activeDeadlineSeconds"), v, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(spec.Child("activeDeadlineSeconds"), pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, spec.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, spec.Child("schedulingGates"))...)
	if apiequality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		return errs
	}
	m := pod.Spec.DeepCopy()
	for i := range m.Containers {
		m.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range m.InitContainers {
		m.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	m.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	m.SchedulingGates = old.Spec.SchedulingGates
	m.Tolerations = old.Spec.Tolerations
	if old.Spec.TerminationGracePeriodSeconds != nil && *old.Spec.TerminationGracePeriodSeconds < 0 &&
		m.TerminationGracePeriodSeconds != nil && *m.TerminationGracePeriodSeconds == 1 {
		m.TerminationGracePeriodSeconds = old.Spec.TerminationGracePeriodSeconds
	}
	// Gated pods may gain nodeSelector entries.
	if len(old.Spec.SchedulingGates) > 0 && !apiequality.Semantic.DeepEqual(m.NodeSelector, old.Spec.NodeSelector) {
		for k, v := range old.Spec.NodeSelector {
			if nv, ok := m.NodeSelector[k]; !ok || nv != v {
				errs = append(errs, field.Invalid(spec.Child("nodeSelector"), m.NodeSelector, "only additions to spec.nodeSelector are allowed (no mutations or deletions)"))
				break
			}
		}
		m.NodeSelector = old.Spec.NodeSelector
	}
	if !apiequality.Semantic.DeepEqual(*m, old.Spec) {
		diff := cmp.Diff(old.Spec, *m)
		errs = append(errs, field.Forbidden(spec, fmt.Sprintf("pod updates may not change fields other than %s\n%v", strings.Join(updatablePodSpecFields, ","), diff)))
	}
	return errs
}

func validateMirrorAnnotationUpdate(pod, old *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	p := metaPath.Child("annotations")
	k := corev1.MirrorPodAnnotationKey
	ov, oldHas := old.Annotations[k]
	nv, newHas := pod.Annotations[k]
	switch {
	case oldHas && (!newHas || nv != ov):
		errs = append(errs, field.Forbidden(p.Key(k), "may not remove or update mirror pod annotation"))
	case !oldHas && newHas:
		errs = append(errs, field.Forbidden(p.Key(k), "may not add mirror pod annotation"))
	}
	return errs
}

func validateContainerUpdates(cs, old []corev1.Container, fld *field.Path) (field.ErrorList, bool) {
	if len(cs) != len(old) {
		return field.ErrorList{field.Forbidden(fld, "pod updates may not add or remove containers")}, true
	}
	var errs field.ErrorList
	for i, c := range cs {
		if c.Image == "" {
			errs = append(errs, field.Required(fld.Index(i).Child("image"), ""))
		}
		errs = append(errs, validateImageWhitespace(c.Image, fld.Index(i).Child("image"))...)
	}
	return errs, false
}

func validateOnlyAddedTolerations(ts, old []corev1.Toleration, fld *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, n := range ts {
			oc := o
			oc.TolerationSeconds = n.TolerationSeconds
			if reflect.DeepEqual(oc, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fld, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return validateTolerations(ts, fld)
}

func validateOnlyDeletedSchedulingGates(gates, old []corev1.PodSchedulingGate, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	oldNames := map[string]bool{}
	for _, g := range old {
		oldNames[g.Name] = true
	}
	for i, g := range gates {
		if !oldNames[g.Name] {
			errs = append(errs, field.Forbidden(fld.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// validatePodStatusUpdate is core's ValidatePodStatusUpdate (the parts that
// apply to what skiff's kubelet writes).
func validatePodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := validateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateMirrorAnnotationUpdate(pod, old)...)
	for i, c := range pod.Status.Conditions {
		switch c.Type {
		case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized:
			continue
		}
		errs = append(errs, validateQualifiedName(string(c.Type), metaPath.Child("conditions").Index(i).Child("Type"))...)
	}
	st := field.NewPath("status")
	if pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(st.Child("nodeName"), "may not be changed directly"))
	}
	if n := pod.Status.NominatedNodeName; n != old.Status.NominatedNodeName && n != "" {
		errs = append(errs, invalidNames(nameIsDNSSubdomain, n, st.Child("nominatedNodeName"))...)
	}
	errs = append(errs, immutable(pod.Status.QOSClass, old.Status.QOSClass, st.Child("qosClass"))...)
	errs = append(errs, containerStateTransitions(pod.Status.ContainerStatuses, old.Status.ContainerStatuses, st.Child("containerStatuses"), old.Spec.RestartPolicy)...)
	errs = append(errs, validatePodIPs(&pod.Status)...)
	if len(pod.Status.HostIPs) > 0 {
		hp := st.Child("hostIPs")
		if pod.Status.HostIP != pod.Status.HostIPs[0].IP {
			errs = append(errs, field.Invalid(hp.Index(0).Child("ip"), pod.Status.HostIPs[0].IP, "must be equal to `hostIP`"))
		}
		for i, ip := range pod.Status.HostIPs {
			errs = append(errs, validation.IsValidIP(hp.Index(i), ip.IP)...)
		}
	}
	return errs
}

func containerStateTransitions(statuses, old []corev1.ContainerStatus, fld *field.Path, rp corev1.RestartPolicy) field.ErrorList {
	if rp == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, o := range old {
		if o.State.Terminated == nil || (o.State.Terminated.ExitCode != 0 && rp == corev1.RestartPolicyOnFailure) {
			continue
		}
		for _, n := range statuses {
			if o.Name == n.Name && n.State.Terminated == nil {
				errs = append(errs, field.Forbidden(fld.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}
