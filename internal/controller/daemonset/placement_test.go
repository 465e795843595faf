package daemonset

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestShouldRun(t *testing.T) {
	node := func(lbls map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: lbls}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	ds := func(mut func(*corev1.PodSpec)) *appsv1.DaemonSet {
		d := &appsv1.DaemonSet{}
		if mut != nil {
			mut(&d.Spec.Template.Spec)
		}
		return d
	}
	taint := func(k string, e corev1.TaintEffect) corev1.Taint { return corev1.Taint{Key: k, Effect: e} }
	for _, tc := range []struct {
		name      string
		node      *corev1.Node
		ds        *appsv1.DaemonSet
		run, keep bool
	}{
		{"plain", node(nil), ds(nil), true, true},
		{"selector match", node(map[string]string{"disk": "ssd"}), ds(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"disk": "ssd"} }), true, true},
		{"selector miss", node(nil), ds(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"disk": "ssd"} }), false, false},
		{"nodeName other", node(nil), ds(func(s *corev1.PodSpec) { s.NodeName = "n2" }), false, false},
		{"affinity miss", node(map[string]string{"zone": "a"}), ds(func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"b"}}}}}}}}
		}), false, false},
		{"noschedule taint", node(nil, taint("dedicated", corev1.TaintEffectNoSchedule)), ds(nil), false, true},
		{"noexecute taint", node(nil, taint("dedicated", corev1.TaintEffectNoExecute)), ds(nil), false, false},
		{"prefer taint ignored", node(nil, taint("dedicated", corev1.TaintEffectPreferNoSchedule)), ds(nil), true, true},
		{"tolerated", node(nil, taint("dedicated", corev1.TaintEffectNoSchedule)), ds(func(s *corev1.PodSpec) {
			s.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		}), true, true},
		{"not-ready tolerated", node(nil, taint(taintNotReady, corev1.TaintEffectNoExecute)), ds(nil), true, true},
		{"unreachable tolerated", node(nil, taint(taintUnreachable, corev1.TaintEffectNoExecute)), ds(nil), true, true},
		{"cordoned tolerated", node(nil, taint(taintUnschedulable, corev1.TaintEffectNoSchedule), taint(taintDiskPressure, corev1.TaintEffectNoSchedule)), ds(nil), true, true},
		{"network unavailable", node(nil, taint(taintNetworkUnavailable, corev1.TaintEffectNoSchedule)), ds(nil), false, true},
		{"network unavailable hostNetwork", node(nil, taint(taintNetworkUnavailable, corev1.TaintEffectNoSchedule)), ds(func(s *corev1.PodSpec) { s.HostNetwork = true }), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, keep := shouldRun(tc.node, tc.ds)
			if run != tc.run || keep != tc.keep {
				t.Fatalf("shouldRun = %v,%v, want %v,%v", run, keep, tc.run, tc.keep)
			}
		})
	}
}

func TestDaemonTolerationsIdempotent(t *testing.T) {
	s := &corev1.PodSpec{Tolerations: []corev1.Toleration{{Key: taintNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: new(int64(5))}}}
	addDaemonTolerations(s)
	addDaemonTolerations(s)
	if len(s.Tolerations) != 6 || s.Tolerations[0].TolerationSeconds != nil {
		t.Fatalf("tolerations %+v", s.Tolerations)
	}
}

func TestNodeNameAffinity(t *testing.T) {
	a := &corev1.Affinity{
		NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{}}}},
		PodAffinity:  &corev1.PodAffinity{},
	}
	got := nodeNameAffinity(a, "n7")
	if got.PodAffinity == nil {
		t.Fatal("pod affinity dropped")
	}
	p := &corev1.Pod{Spec: corev1.PodSpec{Affinity: got}}
	if n, err := targetNodeName(p); err != nil || n != "n7" {
		t.Fatalf("target %q %v", n, err)
	}
	p.Spec.NodeName = "bound"
	if n, _ := targetNodeName(p); n != "bound" {
		t.Fatalf("target %q", n)
	}
	if _, err := targetNodeName(&corev1.Pod{}); err == nil {
		t.Fatal("no error without a node")
	}
	if n, _ := targetNodeName(&corev1.Pod{Spec: corev1.PodSpec{Affinity: nodeNameAffinity(nil, "x")}}); n != "x" {
		t.Fatal("nil affinity")
	}
}

func TestCounts(t *testing.T) {
	ds := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
		Type: appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{
			MaxUnavailable: new(intstr.FromString("25%")), MaxSurge: new(intstr.FromInt32(0)),
		},
	}}}
	if n, _ := unavailableCount(ds, 5); n != 2 {
		t.Fatalf("maxUnavailable 25%% of 5 = %d, want 2 (rounded up)", n)
	}
	if allowsSurge(ds) {
		t.Fatal("surge 0 allows surge")
	}
	ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = new(intstr.FromString("10%"))
	if !allowsSurge(ds) {
		t.Fatal("surge 10% does not allow surge")
	}
	ds.Spec.UpdateStrategy.Type = appsv1.OnDeleteDaemonSetStrategyType
	if n, _ := unavailableCount(ds, 5); n != 0 || allowsSurge(ds) {
		t.Fatal("OnDelete has limits")
	}
}

func TestIsPodUpdated(t *testing.T) {
	g := int64(3)
	pod := func(l map[string]string) *corev1.Pod { return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: l}} }
	if !isPodUpdated(pod(map[string]string{"controller-revision-hash": "h"}), "h", nil) ||
		!isPodUpdated(pod(map[string]string{TemplateGenerationLabel: "3"}), "h", &g) ||
		isPodUpdated(pod(map[string]string{"controller-revision-hash": "o", TemplateGenerationLabel: "2"}), "h", &g) {
		t.Fatal("isPodUpdated")
	}
	tmpl := podTemplate(&appsv1.DaemonSet{}, &g, "h")
	if tmpl.Labels[TemplateGenerationLabel] != "3" || tmpl.Labels["controller-revision-hash"] != "h" || len(tmpl.Spec.Tolerations) != 6 {
		t.Fatalf("template %+v", tmpl)
	}
}
