package validation

import (
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

type nameFunc = apimachineryvalidation.ValidateNameFunc

var (
	nameIsDNSSubdomain = apimachineryvalidation.NameIsDNSSubdomain
	nameIsDNSLabel     = apimachineryvalidation.NameIsDNSLabel
	nameIsDNS1035Label = apimachineryvalidation.NameIsDNS1035Label
)

var metaPath = field.NewPath("metadata")

// validateObjectMeta is core's ValidateObjectMeta. The namespace is checked
// only when set on namespaced kinds (its presence is the API server's
// business) and ignored on cluster-scoped kinds, whose namespace the API
// server clears.
func validateObjectMeta(m *metav1.ObjectMeta, namespaced bool, fn nameFunc) field.ErrorList {
	if m == nil {
		return nil
	}
	meta := m
	if !namespaced && m.Namespace != "" {
		cp := *m
		cp.Namespace = ""
		meta = &cp
	}
	errs := apimachineryvalidation.ValidateObjectMeta(meta, namespaced && meta.Namespace != "", fn, metaPath)
	for i, f := range meta.Finalizers {
		errs = append(errs, validateKubeFinalizerName(f, metaPath.Child("finalizers").Index(i))...)
	}
	return errs
}

// validateObjectMetaUpdate is core's ValidateObjectMetaUpdate.
func validateObjectMetaUpdate(m, old *metav1.ObjectMeta) field.ErrorList {
	if m == nil || old == nil {
		return nil
	}
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(m, old, metaPath)
	for i, f := range m.Finalizers {
		errs = append(errs, validateKubeFinalizerName(f, metaPath.Child("finalizers").Index(i))...)
	}
	return errs
}

var standardFinalizers = map[string]bool{
	"kubernetes":                     true,
	metav1.FinalizerOrphanDependents: true,
	metav1.FinalizerDeleteDependents: true,
}

func validateKubeFinalizerName(name string, fld *field.Path) field.ErrorList {
	if !strings.Contains(name, "/") && !standardFinalizers[name] {
		return field.ErrorList{field.Invalid(fld, name, "name is neither a standard finalizer name nor is it fully qualified")}
	}
	return nil
}

func validateFinalizerName(name string, fld *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateFinalizerName(name, fld)
	return append(errs, validateKubeFinalizerName(name, fld)...)
}

func validateDNS1123Label(value string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(fld, value, msg))
	}
	return errs
}

func validateDNS1123Subdomain(value string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		errs = append(errs, field.Invalid(fld, value, msg))
	}
	return errs
}

func validateQualifiedName(value string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(value) {
		errs = append(errs, field.Invalid(fld, value, msg))
	}
	return errs
}

func validateNonnegative(v int64, fld *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(v, fld)
}

func invalidNames(fn nameFunc, name string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range fn(name, false) {
		errs = append(errs, field.Invalid(fld, name, msg))
	}
	return errs
}

func immutable(newVal, oldVal any, fld *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(newVal, oldVal, fld)
}

func isDecremented(update, old *int32) bool {
	if update == nil && old != nil {
		return true
	}
	if update == nil || old == nil {
		return false
	}
	return *update < *old
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func apimachineryAnnotations(a map[string]string, fld *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateAnnotations(a, fld)
}

func validateLabels(l map[string]string, fld *field.Path) field.ErrorList {
	return metav1validation.ValidateLabels(l, fld)
}
