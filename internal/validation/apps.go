package validation

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var strictSelector = metav1validation.LabelSelectorValidationOptions{}

// validateWorkloadSelector checks a required, non-empty selector and returns
// it as a labels.Selector (nil when unusable).
func validateWorkloadSelector(sel *metav1.LabelSelector, fld *field.Path, kind, invalidMsg string) (labels.Selector, field.ErrorList) {
	var errs field.ErrorList
	if sel == nil {
		errs = append(errs, field.Required(fld, ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, strictSelector, fld)...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(fld, sel, "empty selector is invalid for "+kind))
		}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		errs = append(errs, field.Invalid(fld, sel, invalidMsg))
		return nil, errs
	}
	return s, errs
}

// validatePodTemplateForReplicaSet is ValidatePodTemplateSpecForReplicaSet
// (also used for Deployments and, with its own messages, StatefulSets).
func validatePodTemplateForController(t *corev1.PodTemplateSpec, sel labels.Selector, fld *field.Path, kind string, opts podOpts) field.ErrorList {
	var errs field.ErrorList
	if sel != nil && !sel.Empty() && !sel.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(fld.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, validatePodTemplateSpec(t, fld, opts)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(fld.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(fld.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in "+kind+" is not Supported"))
	}
	return errs
}

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	errs := validateObjectMeta(&d.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateDeploymentSpec(&d.Spec, field.NewPath("spec"))...)
}

func validateDeploymentSpec(s *appsv1.DeploymentSpec, fld *field.Path) field.ErrorList {
	errs := validateNonnegative(int64(deref(s.Replicas)), fld.Child("replicas"))
	sel, sErrs := validateWorkloadSelector(s.Selector, fld.Child("selector"), "deployment", "invalid label selector")
	errs = append(errs, sErrs...)
	if sel != nil {
		errs = append(errs, validatePodTemplateForController(&s.Template, sel, fld.Child("template"), "ReplicaSet", podOpts{})...)
	}
	errs = append(errs, validateDeploymentStrategy(&s.Strategy, fld.Child("strategy"))...)
	errs = append(errs, validateNonnegative(int64(s.MinReadySeconds), fld.Child("minReadySeconds"))...)
	if s.RevisionHistoryLimit != nil {
		errs = append(errs, validateNonnegative(int64(*s.RevisionHistoryLimit), fld.Child("revisionHistoryLimit"))...)
	}
	if s.ProgressDeadlineSeconds != nil {
		errs = append(errs, validateNonnegative(int64(*s.ProgressDeadlineSeconds), fld.Child("progressDeadlineSeconds"))...)
		if *s.ProgressDeadlineSeconds <= s.MinReadySeconds {
			errs = append(errs, field.Invalid(fld.Child("progressDeadlineSeconds"), *s.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, fld *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fld.Child("rollingUpdate"), "may not be specified when strategy `type` is '"+string(appsv1.RecreateDeploymentStrategyType)+"'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fld.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		p := fld.Child("rollingUpdate")
		mu, ms := intOrZero(s.RollingUpdate.MaxUnavailable), intOrZero(s.RollingUpdate.MaxSurge)
		errs := validatePositiveIntOrPercent(mu, p.Child("maxUnavailable"))
		errs = append(errs, validatePositiveIntOrPercent(ms, p.Child("maxSurge"))...)
		if intOrPercentValue(mu) == 0 && intOrPercentValue(ms) == 0 {
			errs = append(errs, field.Invalid(p.Child("maxUnavailable"), mu, "may not be 0 when `maxSurge` is 0"))
		}
		return append(errs, notMoreThan100Percent(mu, p.Child("maxUnavailable"))...)
	default:
		return field.ErrorList{field.NotSupported(fld, s, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)})}
	}
	return nil
}

func intOrZero(v *intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return intstr.FromInt32(0)
	}
	return *v
}

func validatePositiveIntOrPercent(v intstr.IntOrString, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch v.Type {
	case intstr.String:
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(fld, v, msg))
		}
	case intstr.Int:
		errs = append(errs, validateNonnegative(int64(v.IntValue()), fld)...)
	default:
		errs = append(errs, field.Invalid(fld, v, "must be an integer or percentage (e.g '5%%')"))
	}
	return errs
}

func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

func intOrPercentValue(v intstr.IntOrString) int {
	if n, ok := percentValue(v); ok {
		return n
	}
	return v.IntValue()
}

func notMoreThan100Percent(v intstr.IntOrString, fld *field.Path) field.ErrorList {
	n, ok := percentValue(v)
	if !ok || n <= 100 {
		return nil
	}
	return field.ErrorList{field.Invalid(fld, v, "must not be greater than 100%")}
}

func validateDeploymentStatus(st *appsv1.DeploymentStatus, fld *field.Path) field.ErrorList {
	errs := validateNonnegative(st.ObservedGeneration, fld.Child("observedGeneration"))
	errs = append(errs, validateNonnegative(int64(st.Replicas), fld.Child("replicas"))...)
	errs = append(errs, validateNonnegative(int64(st.UpdatedReplicas), fld.Child("updatedReplicas"))...)
	errs = append(errs, validateNonnegative(int64(st.ReadyReplicas), fld.Child("readyReplicas"))...)
	errs = append(errs, validateNonnegative(int64(st.AvailableReplicas), fld.Child("availableReplicas"))...)
	errs = append(errs, validateNonnegative(int64(st.UnavailableReplicas), fld.Child("unavailableReplicas"))...)
	if st.CollisionCount != nil {
		errs = append(errs, validateNonnegative(int64(*st.CollisionCount), fld.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if st.UpdatedReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("updatedReplicas"), st.UpdatedReplicas, msg))
	}
	if st.ReadyReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("readyReplicas"), st.ReadyReplicas, msg))
	}
	if st.AvailableReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("availableReplicas"), st.AvailableReplicas, msg))
	}
	if st.AvailableReplicas > st.ReadyReplicas {
		errs = append(errs, field.Invalid(fld.Child("availableReplicas"), st.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

func validateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	errs := validateObjectMeta(&rs.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateReplicaSetSpec(&rs.Spec, field.NewPath("spec"))...)
}

func validateReplicaSetSpec(s *appsv1.ReplicaSetSpec, fld *field.Path) field.ErrorList {
	errs := validateNonnegative(int64(deref(s.Replicas)), fld.Child("replicas"))
	errs = append(errs, validateNonnegative(int64(s.MinReadySeconds), fld.Child("minReadySeconds"))...)
	// Upstream says "deployment" here too.
	sel, sErrs := validateWorkloadSelector(s.Selector, fld.Child("selector"), "deployment", "invalid label selector")
	errs = append(errs, sErrs...)
	if sel != nil {
		errs = append(errs, validatePodTemplateForController(&s.Template, sel, fld.Child("template"), "ReplicaSet", podOpts{})...)
	}
	return errs
}

func validateReplicaSetStatus(st *appsv1.ReplicaSetStatus, fld *field.Path) field.ErrorList {
	errs := validateNonnegative(int64(st.Replicas), fld.Child("replicas"))
	errs = append(errs, validateNonnegative(int64(st.FullyLabeledReplicas), fld.Child("fullyLabeledReplicas"))...)
	errs = append(errs, validateNonnegative(int64(st.ReadyReplicas), fld.Child("readyReplicas"))...)
	errs = append(errs, validateNonnegative(int64(st.AvailableReplicas), fld.Child("availableReplicas"))...)
	errs = append(errs, validateNonnegative(st.ObservedGeneration, fld.Child("observedGeneration"))...)
	const msg = "cannot be greater than status.replicas"
	if st.FullyLabeledReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("fullyLabeledReplicas"), st.FullyLabeledReplicas, msg))
	}
	if st.ReadyReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("readyReplicas"), st.ReadyReplicas, msg))
	}
	if st.AvailableReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("availableReplicas"), st.AvailableReplicas, msg))
	}
	if st.AvailableReplicas > st.ReadyReplicas {
		errs = append(errs, field.Invalid(fld.Child("availableReplicas"), st.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

func validateStatefulSet(ss *appsv1.StatefulSet) field.ErrorList {
	errs := validateObjectMeta(&ss.ObjectMeta, true, nameIsDNSLabel)
	return append(errs, validateStatefulSetSpec(&ss.Spec, field.NewPath("spec"))...)
}

func validateStatefulSetSpec(s *appsv1.StatefulSetSpec, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch s.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(fld.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(fld.Child("podManagementPolicy"), s.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	us := s.UpdateStrategy
	switch us.Type {
	case "":
		errs = append(errs, field.Required(fld.Child("updateStrategy"), ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if us.RollingUpdate != nil {
			errs = append(errs, field.Invalid(fld.Child("updateStrategy", "rollingUpdate"), us.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := us.RollingUpdate; ru != nil {
			p := fld.Child("updateStrategy", "rollingUpdate")
			errs = append(errs, validateNonnegative(int64(deref(ru.Partition)), p.Child("partition"))...)
			if ru.MaxUnavailable != nil {
				errs = append(errs, validatePositiveIntOrPercent(*ru.MaxUnavailable, p.Child("maxUnavailable"))...)
				if intOrPercentValue(*ru.MaxUnavailable) == 0 {
					errs = append(errs, field.Invalid(p.Child("maxUnavailable"), *ru.MaxUnavailable, "cannot be 0"))
				}
				errs = append(errs, notMoreThan100Percent(*ru.MaxUnavailable, p.Child("maxUnavailable"))...)
			}
		}
	default:
		errs = append(errs, field.Invalid(fld.Child("updateStrategy"), us,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}
	if p := s.PersistentVolumeClaimRetentionPolicy; p != nil {
		pp := fld.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, validateRetentionPolicyType(p.WhenDeleted, pp.Child("whenDeleted"))...)
		errs = append(errs, validateRetentionPolicyType(p.WhenScaled, pp.Child("whenScaled"))...)
	}
	errs = append(errs, validateNonnegative(int64(deref(s.Replicas)), fld.Child("replicas"))...)
	errs = append(errs, validateNonnegative(int64(s.MinReadySeconds), fld.Child("minReadySeconds"))...)
	if s.Ordinals != nil {
		errs = append(errs, validateNonnegative(int64(s.Ordinals.Start), fld.Child("ordinals.start"))...)
	}
	sel, sErrs := validateWorkloadSelector(s.Selector, fld.Child("selector"), "statefulset", "")
	errs = append(errs, sErrs...)
	if sel != nil {
		tp := fld.Child("template")
		if !sel.Empty() && !sel.Matches(labels.Set(s.Template.Labels)) {
			errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), s.Template.Labels, "`selector` does not match template `labels`"))
		}
		// Mounts may refer to volumeClaimTemplates as well as volumes.
		var claims []string
		for _, c := range s.VolumeClaimTemplates {
			claims = append(claims, c.Name)
		}
		errs = append(errs, validatePodTemplateSpec(&s.Template, tp, podOpts{extraVolumes: claims})...)
	}
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(fld.Child("template", "spec", "restartPolicy"), s.Template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if s.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(fld.Child("template", "spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in StatefulSet is not Supported"))
	}
	for i := range s.VolumeClaimTemplates {
		c := &s.VolumeClaimTemplates[i]
		p := fld.Child("volumeClaimTemplates").Index(i)
		errs = append(errs, invalidNames(nameIsDNSSubdomain, c.Name, p.Child("metadata", "name"))...)
		errs = append(errs, validatePVCSpec(&c.Spec, p.Child("spec"))...)
	}
	return errs
}

func validateRetentionPolicyType(t appsv1.PersistentVolumeClaimRetentionPolicyType, fld *field.Path) field.ErrorList {
	switch t {
	case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	}
	return field.ErrorList{field.NotSupported(fld, t, []string{string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType), string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)})}
}

func validateStatefulSetUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	errs := validateObjectMetaUpdate(&ss.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateStatefulSetSpec(&ss.Spec, field.NewPath("spec"))...)
	c := ss.Spec.DeepCopy()
	c.Replicas = old.Spec.Replicas
	c.Template = old.Spec.Template
	c.UpdateStrategy = old.Spec.UpdateStrategy
	c.MinReadySeconds = old.Spec.MinReadySeconds
	c.Ordinals = old.Spec.Ordinals
	c.PersistentVolumeClaimRetentionPolicy = old.Spec.PersistentVolumeClaimRetentionPolicy
	c.RevisionHistoryLimit = old.Spec.RevisionHistoryLimit
	if !apiequality.Semantic.DeepEqual(*c, old.Spec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
	}
	return errs
}

func validateStatefulSetStatus(st *appsv1.StatefulSetStatus, fld *field.Path) field.ErrorList {
	errs := validateNonnegative(int64(st.Replicas), fld.Child("replicas"))
	errs = append(errs, validateNonnegative(int64(st.ReadyReplicas), fld.Child("readyReplicas"))...)
	errs = append(errs, validateNonnegative(int64(st.CurrentReplicas), fld.Child("currentReplicas"))...)
	errs = append(errs, validateNonnegative(int64(st.UpdatedReplicas), fld.Child("updatedReplicas"))...)
	errs = append(errs, validateNonnegative(int64(st.AvailableReplicas), fld.Child("availableReplicas"))...)
	errs = append(errs, validateNonnegative(st.ObservedGeneration, fld.Child("observedGeneration"))...)
	if st.CollisionCount != nil {
		errs = append(errs, validateNonnegative(int64(*st.CollisionCount), fld.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if st.ReadyReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("readyReplicas"), st.ReadyReplicas, msg))
	}
	if st.CurrentReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("currentReplicas"), st.CurrentReplicas, msg))
	}
	if st.UpdatedReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("updatedReplicas"), st.UpdatedReplicas, msg))
	}
	if st.AvailableReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("availableReplicas"), st.AvailableReplicas, msg))
	}
	if st.AvailableReplicas > st.ReadyReplicas {
		errs = append(errs, field.Invalid(fld.Child("availableReplicas"), st.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	return errs
}

func validateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	errs := validateObjectMeta(&ds.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateDaemonSetSpec(&ds.Spec, field.NewPath("spec"))...)
}

func validateDaemonSetSpec(s *appsv1.DaemonSetSpec, fld *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabelSelector(s.Selector, strictSelector, fld.Child("selector"))
	sel, err := metav1.LabelSelectorAsSelector(s.Selector)
	if err == nil && !sel.Matches(labels.Set(s.Template.Labels)) {
		errs = append(errs, field.Invalid(fld.Child("template", "metadata", "labels"), s.Template.Labels, "`selector` does not match template `labels`"))
	}
	if s.Selector != nil && len(s.Selector.MatchLabels)+len(s.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(fld.Child("selector"), s.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, validatePodTemplateSpec(&s.Template, fld.Child("template"), podOpts{})...)
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(fld.Child("template", "spec", "restartPolicy"), s.Template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if s.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(fld.Child("template", "spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in DaemonSet is not Supported"))
	}
	errs = append(errs, validateNonnegative(int64(s.MinReadySeconds), fld.Child("minReadySeconds"))...)
	errs = append(errs, validateDaemonSetUpdateStrategy(&s.UpdateStrategy, fld.Child("updateStrategy"))...)
	if s.RevisionHistoryLimit != nil {
		errs = append(errs, validateNonnegative(int64(*s.RevisionHistoryLimit), fld.Child("revisionHistoryLimit"))...)
	}
	return errs
}

func validateDaemonSetUpdateStrategy(s *appsv1.DaemonSetUpdateStrategy, fld *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fld.Child("rollingUpdate"), "")}
		}
		p := fld.Child("rollingUpdate")
		mu, ms := intOrZero(s.RollingUpdate.MaxUnavailable), intOrZero(s.RollingUpdate.MaxSurge)
		errs := validatePositiveIntOrPercent(mu, p.Child("maxUnavailable"))
		errs = append(errs, validatePositiveIntOrPercent(ms, p.Child("maxSurge"))...)
		errs = append(errs, notMoreThan100Percent(mu, p.Child("maxUnavailable"))...)
		errs = append(errs, notMoreThan100Percent(ms, p.Child("maxSurge"))...)
		hasU, hasS := intOrPercentValue(mu) != 0, intOrPercentValue(ms) != 0
		switch {
		case hasU && hasS:
			errs = append(errs, field.Invalid(p.Child("maxSurge"), s.RollingUpdate.MaxSurge, "may not be set when maxUnavailable is non-zero"))
		case !hasU && !hasS:
			errs = append(errs, field.Required(p.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
		}
		return errs
	}
	return field.ErrorList{field.NotSupported(fld, s, []string{string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)})}
}

func validateDaemonSetStatus(st *appsv1.DaemonSetStatus, fld *field.Path) field.ErrorList {
	errs := validateNonnegative(int64(st.CurrentNumberScheduled), fld.Child("currentNumberScheduled"))
	errs = append(errs, validateNonnegative(int64(st.NumberMisscheduled), fld.Child("numberMisscheduled"))...)
	errs = append(errs, validateNonnegative(int64(st.DesiredNumberScheduled), fld.Child("desiredNumberScheduled"))...)
	errs = append(errs, validateNonnegative(int64(st.NumberReady), fld.Child("numberReady"))...)
	errs = append(errs, validateNonnegative(st.ObservedGeneration, fld.Child("observedGeneration"))...)
	errs = append(errs, validateNonnegative(int64(st.UpdatedNumberScheduled), fld.Child("updatedNumberScheduled"))...)
	errs = append(errs, validateNonnegative(int64(st.NumberAvailable), fld.Child("numberAvailable"))...)
	errs = append(errs, validateNonnegative(int64(st.NumberUnavailable), fld.Child("numberUnavailable"))...)
	if st.CollisionCount != nil {
		errs = append(errs, validateNonnegative(int64(*st.CollisionCount), fld.Child("collisionCount"))...)
	}
	return errs
}

func validateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	errs := validateObjectMeta(&cr.ObjectMeta, true, nameIsDNSSubdomain)
	if cr.Data.Raw == nil && cr.Data.Object == nil {
		errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
	}
	return append(errs, validateNonnegative(cr.Revision, field.NewPath("revision"))...)
}

// collisionCountDecrement is the status-update rule shared by the workloads.
func collisionCountDecrement(newCC, oldCC *int32) field.ErrorList {
	if !isDecremented(newCC, oldCC) {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("status", "collisionCount"), deref(newCC), "cannot be decremented")}
}
