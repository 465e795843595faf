package namespace

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// conditionTypes are the namespace conditions this controller owns, in the
// order Kubernetes writes them.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// okCondition is the reason and message of a condition that is False.
var okCondition = map[corev1.NamespaceConditionType][2]string{
	corev1.NamespaceDeletionDiscoveryFailure: {"ResourcesDiscovered", "All resources successfully discovered"},
	corev1.NamespaceDeletionGVParsingFailure: {"ParsedGroupVersions", "All legacy kube types successfully parsed"},
	corev1.NamespaceDeletionContentFailure:   {"ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
	corev1.NamespaceContentRemaining:         {"ContentRemoved", "All content successfully removed"},
	corev1.NamespaceFinalizersRemaining:      {"ContentRemoved", "All content successfully removed"},
}

// progress is what one pass over a namespace's content found.
type progress struct {
	discoveryErr error
	deleteErrs   []error
	remaining    map[schema.GroupVersionResource]int
	finalizers   map[string]int
}

func (p progress) done() bool {
	return p.discoveryErr == nil && len(p.deleteErrs) == 0 && len(p.remaining) == 0
}

// failing returns the True conditions for p; types not listed are False.
func (p progress) failing() []corev1.NamespaceCondition {
	var out []corev1.NamespaceCondition
	add := func(t corev1.NamespaceConditionType, reason, msg string) {
		out = append(out, corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg})
	}
	if p.discoveryErr != nil {
		add(corev1.NamespaceDeletionDiscoveryFailure, "DiscoveryFailed", p.discoveryErr.Error())
	}
	if len(p.deleteErrs) > 0 {
		msgs := make([]string, 0, len(p.deleteErrs))
		for _, e := range p.deleteErrs {
			msgs = append(msgs, e.Error())
		}
		sort.Strings(msgs)
		add(corev1.NamespaceDeletionContentFailure, "ContentDeletionFailed",
			fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(msgs), strings.Join(msgs, ", ")))
	}
	if len(p.remaining) > 0 {
		var parts []string
		for gvr, n := range p.remaining {
			parts = append(parts, fmt.Sprintf("%s.%s has %d resource instances", gvr.Resource, gvr.Group, n))
		}
		sort.Strings(parts)
		add(corev1.NamespaceContentRemaining, "SomeResourcesRemain", "Some resources are remaining: "+strings.Join(parts, ", "))
	}
	if len(p.finalizers) > 0 {
		var parts []string
		for f, n := range p.finalizers {
			parts = append(parts, fmt.Sprintf("%s in %d resource instances", f, n))
		}
		sort.Strings(parts)
		add(corev1.NamespaceFinalizersRemaining, "SomeFinalizerRemain", "Some finalizers are remaining: "+strings.Join(parts, ", "))
	}
	return out
}

// setConditions writes p into status and reports whether anything
// changed. A condition's transition time changes only with its status.
func setConditions(status *corev1.NamespaceStatus, p progress, now metav1.Time) bool {
	failing := p.failing()
	changed := false
	for _, t := range conditionTypes {
		want := corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: okCondition[t][0], Message: okCondition[t][1]}
		for _, c := range failing {
			if c.Type == t {
				want = c
			}
		}
		want.LastTransitionTime = now
		i := findCondition(status.Conditions, t)
		if i < 0 {
			status.Conditions = append(status.Conditions, want)
			changed = true
			continue
		}
		old := &status.Conditions[i]
		if old.Status == want.Status && old.Reason == want.Reason && old.Message == want.Message {
			continue
		}
		if old.Status == want.Status {
			want.LastTransitionTime = old.LastTransitionTime
		}
		*old = want
		changed = true
	}
	return changed
}

func findCondition(cs []corev1.NamespaceCondition, t corev1.NamespaceConditionType) int {
	for i := range cs {
		if cs[i].Type == t {
			return i
		}
	}
	return -1
}
