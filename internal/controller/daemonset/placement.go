package daemonset

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	intstrutil "k8s.io/apimachinery/pkg/util/intstr"
	schedcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// Labels and annotations Kubernetes puts on DaemonSets and their pods.
const (
	// TemplateGenerationLabel is the legacy pod label holding the
	// DaemonSet's template generation when the pod was made.
	TemplateGenerationLabel = "pod-template-generation"
	// TemplateGenerationAnnotation is where the API server of Kubernetes
	// keeps a DaemonSet's template generation.
	TemplateGenerationAnnotation = "deprecated.daemonset.template.generation"
)

// Node taints the daemon pod tolerations refer to (core/v1 names them).
const (
	taintNotReady           = corev1.TaintNodeNotReady
	taintUnreachable        = corev1.TaintNodeUnreachable
	taintDiskPressure       = corev1.TaintNodeDiskPressure
	taintMemoryPressure     = corev1.TaintNodeMemoryPressure
	taintPIDPressure        = corev1.TaintNodePIDPressure
	taintUnschedulable      = corev1.TaintNodeUnschedulable
	taintNetworkUnavailable = corev1.TaintNodeNetworkUnavailable
)

// addDaemonTolerations adds the tolerations every daemon pod gets, as
// Kubernetes' AddOrUpdateDaemonPodTolerations: daemons survive a node
// going not-ready or unreachable (NoExecute, no time limit), run despite
// disk, memory and PID pressure and on cordoned nodes, and, when they use
// the host network, before the node's network is configured.
func addDaemonTolerations(spec *corev1.PodSpec) {
	exists := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	tols := []corev1.Toleration{
		exists(taintNotReady, corev1.TaintEffectNoExecute),
		exists(taintUnreachable, corev1.TaintEffectNoExecute),
		exists(taintDiskPressure, corev1.TaintEffectNoSchedule),
		exists(taintMemoryPressure, corev1.TaintEffectNoSchedule),
		exists(taintPIDPressure, corev1.TaintEffectNoSchedule),
		exists(taintUnschedulable, corev1.TaintEffectNoSchedule),
	}
	if spec.HostNetwork {
		tols = append(tols, exists(taintNetworkUnavailable, corev1.TaintEffectNoSchedule))
	}
	for i := range tols {
		addOrUpdateToleration(spec, &tols[i])
	}
}

// addOrUpdateToleration replaces a toleration matching t (same key,
// operator, value, effect) or appends t.
func addOrUpdateToleration(spec *corev1.PodSpec, t *corev1.Toleration) {
	for i := range spec.Tolerations {
		if t.MatchToleration(&spec.Tolerations[i]) {
			spec.Tolerations[i] = *t
			return
		}
	}
	spec.Tolerations = append(spec.Tolerations, *t)
}

// nodeNameAffinity returns affinity with its required node affinity
// replaced by the single term matchFields metadata.name In [node]: the
// scheduler then binds the daemon pod to that node and nowhere else
// (Kubernetes' ReplaceDaemonSetPodNodeNameNodeAffinity, since 1.12).
// Other affinity (pod affinity, preferred terms) is kept.
func nodeNameAffinity(affinity *corev1.Affinity, node string) *corev1.Affinity {
	sel := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchFields: []corev1.NodeSelectorRequirement{{
			Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node},
		}},
	}}}
	if affinity == nil {
		affinity = &corev1.Affinity{}
	}
	if affinity.NodeAffinity == nil {
		affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = sel
	return affinity
}

// targetNodeName is the node a daemon pod is for: its spec.nodeName once
// bound, else the single metadata.name of its node affinity.
func targetNodeName(pod *corev1.Pod) (string, error) {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName, nil
	}
	a := pod.Spec.Affinity
	if a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range term.MatchFields {
				if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
					return f.Values[0], nil
				}
			}
		}
	}
	return "", fmt.Errorf("no node name found for pod %s/%s", pod.Namespace, pod.Name)
}

// newPod is the pod ds would run on node, for placement decisions.
func newPod(ds *appsv1.DaemonSet, node string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: *ds.Spec.Template.ObjectMeta.DeepCopy(), Spec: *ds.Spec.Template.Spec.DeepCopy()}
	p.Namespace = ds.Namespace
	p.Spec.NodeName = node
	addDaemonTolerations(&p.Spec)
	return p
}

// shouldRun decides, as Kubernetes' NodeShouldRunDaemonPod, whether ds
// wants a pod on node (shouldRun) and whether a pod already there may
// stay (shouldContinue). The template's nodeName, nodeSelector and
// required node affinity must match; a NoSchedule or NoExecute taint the
// pod does not tolerate stops new pods, and only an untolerated NoExecute
// taint evicts running ones. Resources are left to the scheduler.
func shouldRun(node *corev1.Node, ds *appsv1.DaemonSet) (run, keep bool) {
	if n := ds.Spec.Template.Spec.NodeName; n != "" && n != node.Name {
		return false, false
	}
	pod := newPod(ds, node.Name)
	// Parsing errors count as no match (as upstream ignores them).
	if ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !ok {
		return false, false
	}
	untolerated := func(effects ...corev1.TaintEffect) bool {
		_, found := schedcorev1.FindMatchingUntoleratedTaint(logr.Discard(), node.Spec.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
			for _, e := range effects {
				if t.Effect == e {
					return true
				}
			}
			return false
		}, true)
		return found
	}
	if untolerated(corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute) {
		return false, !untolerated(corev1.TaintEffectNoExecute)
	}
	return true, true
}

// templateGeneration is the DaemonSet's template generation: the
// annotation Kubernetes' API server keeps, else metadata.generation
// (skiff's API server does not keep the annotation; the value only feeds
// the legacy pod-template-generation label).
func templateGeneration(ds *appsv1.DaemonSet) *int64 {
	if v, ok := ds.Annotations[TemplateGenerationAnnotation]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return &n
		}
		return nil
	}
	g := ds.Generation
	return &g
}

// isPodUpdated reports whether pod runs the current template: its
// controller-revision-hash is hash, or its legacy template generation is
// the DaemonSet's.
func isPodUpdated(pod *corev1.Pod, hash string, generation *int64) bool {
	if generation != nil && pod.Labels[TemplateGenerationLabel] == strconv.FormatInt(*generation, 10) {
		return true
	}
	return hash != "" && pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash
}

// podTemplate is the template of ds's new pods: daemon tolerations,
// the template generation and revision hash labels.
func podTemplate(ds *appsv1.DaemonSet, generation *int64, hash string) *corev1.PodTemplateSpec {
	t := ds.Spec.Template.DeepCopy()
	addDaemonTolerations(&t.Spec)
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	if generation != nil {
		t.Labels[TemplateGenerationLabel] = strconv.FormatInt(*generation, 10)
	}
	if hash != "" {
		t.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	}
	return t
}

// surgeCount and unavailableCount scale maxSurge and maxUnavailable to
// the number of nodes that should run the daemon (rounding up), 0 when
// the strategy is not RollingUpdate.
func surgeCount(ds *appsv1.DaemonSet, desired int) (int, error) {
	r := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || r == nil || r.MaxSurge == nil {
		return 0, nil
	}
	return intstrutil.GetScaledValueFromIntOrPercent(r.MaxSurge, desired, true)
}

func unavailableCount(ds *appsv1.DaemonSet, desired int) (int, error) {
	r := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || r == nil {
		return 0, nil
	}
	if r.MaxUnavailable == nil {
		return 0, errors.New("nil maxUnavailable")
	}
	return intstrutil.GetScaledValueFromIntOrPercent(r.MaxUnavailable, desired, true)
}

// allowsSurge reports whether a rolling update may run two pods on a node.
func allowsSurge(ds *appsv1.DaemonSet) bool {
	n, err := surgeCount(ds, 1)
	return err == nil && n != 0
}
