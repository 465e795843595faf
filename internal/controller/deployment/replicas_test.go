package deployment

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func ios(s string) *intstr.IntOrString {
	v := intstr.Parse(s)
	return &v
}

func dep(replicas int32, surge, unavailable string) *appsv1.Deployment {
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &replicas,
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ios(surge), MaxUnavailable: ios(unavailable)}}}}
}

// rs builds a ReplicaSet: name, spec replicas, available, age in minutes.
func rs(name string, replicas, available int32, ageMin int) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(t0.Add(-time.Duration(ageMin) * time.Minute))},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &replicas},
		Status:     appsv1.ReplicaSetStatus{Replicas: replicas, AvailableReplicas: available, ReadyReplicas: available},
	}
}

func TestResolveFenceposts(t *testing.T) {
	cases := []struct {
		surge, unavailable string
		desired            int32
		wantS, wantU       int32
	}{
		{"25%", "25%", 10, 3, 2}, // surge rounds up, unavailable down
		{"25%", "25%", 4, 1, 1},
		{"25%", "25%", 1, 1, 0},
		{"0", "0", 10, 0, 1},   // both zero: unavailable 1
		{"0%", "1%", 10, 0, 1}, // 0.1 rounds down to 0: becomes 1
		{"1%", "0%", 10, 1, 0},
		{"3", "2", 10, 3, 2},
		{"30%", "2", 10, 3, 2},
		{"100%", "0", 10, 10, 0},
		{"0", "100%", 10, 0, 10},
		{"50%", "50%", 3, 2, 1},
		{"25%", "25%", 0, 0, 1},
		{"10%", "10%", 100, 10, 10},
		{"33%", "33%", 100, 33, 33},
		{"33%", "33%", 7, 3, 2},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.surge, "/", tc.unavailable, "/", tc.desired), func(t *testing.T) {
			s, u, err := resolveFenceposts(ios(tc.surge), ios(tc.unavailable), tc.desired)
			if err != nil || s != tc.wantS || u != tc.wantU {
				t.Fatalf("got %d,%d,%v want %d,%d", s, u, err, tc.wantS, tc.wantU)
			}
		})
	}
	if _, _, err := resolveFenceposts(ios("x%"), ios("1"), 3); err == nil {
		t.Fatal("want an error for a bad percentage")
	}
}

func TestMaxUnavailableCapped(t *testing.T) {
	if got := maxUnavailable(dep(3, "0", "5")); got != 3 {
		t.Fatalf("maxUnavailable = %d, want 3", got)
	}
	if got := maxUnavailable(dep(0, "0", "5")); got != 0 {
		t.Fatalf("maxUnavailable of 0 replicas = %d", got)
	}
	d := dep(3, "1", "1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if maxSurge(d) != 0 || maxUnavailable(d) != 0 {
		t.Fatal("Recreate has no surge/unavailable")
	}
}

func TestNewRSNewReplicas(t *testing.T) {
	cases := []struct {
		name  string
		d     *appsv1.Deployment
		old   []int32
		newRS int32
		want  int32
	}{
		{"fresh rollout surge 3", dep(10, "3", "2"), []int32{10}, 0, 3},
		{"at max total", dep(10, "3", "2"), []int32{10}, 3, 3},
		{"old scaled down", dep(10, "3", "2"), []int32{8}, 3, 5},
		{"never above replicas", dep(10, "3", "2"), []int32{1}, 9, 10},
		{"zero surge", dep(10, "0", "1"), []int32{10}, 0, 0},
		{"zero surge after scale down", dep(10, "0", "1"), []int32{9}, 0, 1},
		{"two old", dep(10, "25%", "25%"), []int32{5, 5}, 0, 3},
		{"over total", dep(10, "1", "0"), []int32{12}, 0, 0},
		{"old pods not yet deleted", dep(10, "3", "0"), []int32{-7}, 3, 3}, // spec 7, status 10
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var all []*appsv1.ReplicaSet
			for i, r := range tc.old {
				o := rs(fmt.Sprint("old", i), r, r, 10+i)
				if r < 0 { // stale: spec -r, 10 pods still there
					o = rs(fmt.Sprint("old", i), -r, 10, 10+i)
					o.Status.Replicas = 10
				}
				all = append(all, o)
			}
			n := rs("new", tc.newRS, 0, 1)
			all = append(all, n)
			if got := newRSNewReplicas(tc.d, all, n); got != tc.want {
				t.Fatalf("got %d want %d", got, tc.want)
			}
		})
	}
	re := dep(7, "1", "1")
	re.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if got := newRSNewReplicas(re, nil, rs("n", 0, 0, 0)); got != 7 {
		t.Fatalf("recreate: %d", got)
	}
}

func TestMaxScaledDownAndPlans(t *testing.T) {
	// Kubernetes' worked example: 10 replicas, maxUnavailable 2,
	// maxSurge 3; new at 5 crashlooping, old at 8.
	d := dep(10, "3", "2")
	newRS := rs("new", 5, 0, 1)
	old := rs("old", 8, 8, 10)
	all := []*appsv1.ReplicaSet{old, newRS}
	if got := maxScaledDown(d, all, newRS); got != 0 {
		t.Fatalf("crashloop: maxScaledDown = %d, want 0", got)
	}
	// Rollover: the newest RS starts at 0, so two old ones can lose 5.
	a, b, n := rs("a", 8, 8, 20), rs("b", 5, 0, 10), rs("c", 0, 0, 1)
	if got := maxScaledDown(d, []*appsv1.ReplicaSet{a, b, n}, n); got != 5 {
		t.Fatalf("rollover: maxScaledDown = %d, want 5", got)
	}
	// Unhealthy first: b's 5 unavailable pods go, a is untouched.
	steps, planned, cleaned := planCleanupUnhealthy([]*appsv1.ReplicaSet{b, a}, 5)
	if cleaned != 5 || len(steps) != 1 || steps[0].rs.Name != "b" || steps[0].size != 0 {
		t.Fatalf("cleanup = %d %+v", cleaned, steps)
	}
	if *b.Spec.Replicas != 5 {
		t.Fatal("plan mutated its input")
	}
	for _, p := range planned {
		if p.Name == "b" && *p.Spec.Replicas != 0 {
			t.Fatal("planned copy not resized")
		}
	}
	// A stale status (more available than spec) blocks all planning.
	stale := rs("stale", 8, 8, 40)
	stale.Status.AvailableReplicas = 10
	if steps, _, total := planCleanupUnhealthy([]*appsv1.ReplicaSet{stale, b}, 5); total != -1 || steps != nil {
		t.Fatalf("stale status: %d %+v", total, steps)
	}
	// Limit respected across ReplicaSets, oldest first.
	x, y := rs("x", 4, 1, 30), rs("y", 4, 2, 20)
	steps, _, cleaned = planCleanupUnhealthy([]*appsv1.ReplicaSet{y, x}, 4)
	if cleaned != 4 || steps[0].rs.Name != "x" || steps[0].size != 1 || steps[1].rs.Name != "y" || steps[1].size != 3 {
		t.Fatalf("cleanup with limit = %d %+v", cleaned, steps)
	}

	cases := []struct {
		name      string
		d         *appsv1.Deployment
		olds      []*appsv1.ReplicaSet
		newRS     *appsv1.ReplicaSet
		wantTotal int32
		wantSizes map[string]int32
	}{
		{"no room", dep(10, "3", "2"), []*appsv1.ReplicaSet{rs("o", 10, 8, 10)}, rs("n", 3, 0, 1), 0, nil},
		{"new available", dep(10, "3", "2"), []*appsv1.ReplicaSet{rs("o", 10, 10, 10)}, rs("n", 3, 3, 1), 5, map[string]int32{"o": 5}},
		{"unavailable budget only", dep(10, "0", "1"), []*appsv1.ReplicaSet{rs("o", 10, 10, 10)}, rs("n", 0, 0, 1), 1, map[string]int32{"o": 9}},
		{"oldest first", dep(10, "3", "2"), []*appsv1.ReplicaSet{rs("young", 3, 3, 5), rs("old", 3, 3, 50)}, rs("n", 6, 6, 1), 4, map[string]int32{"old": 0, "young": 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			all := append(append([]*appsv1.ReplicaSet(nil), tc.olds...), tc.newRS)
			steps, total := planScaleDownOld(tc.d, all, tc.olds)
			if total != tc.wantTotal {
				t.Fatalf("total %d want %d (%+v)", total, tc.wantTotal, steps)
			}
			got := map[string]int32{}
			for _, s := range steps {
				got[s.rs.Name] = s.size
			}
			if fmt.Sprint(got) != fmt.Sprint(orEmpty(tc.wantSizes)) {
				t.Fatalf("sizes %v want %v", got, tc.wantSizes)
			}
		})
	}
}

func orEmpty(m map[string]int32) map[string]int32 {
	if m == nil {
		return map[string]int32{}
	}
	return m
}

func withMax(r *appsv1.ReplicaSet, maxReplicas int32) *appsv1.ReplicaSet {
	r.Annotations = map[string]string{maxReplicasAnnotation: fmt.Sprint(maxReplicas)}
	return r
}

func TestProportionalSizes(t *testing.T) {
	cases := []struct {
		name string
		d    *appsv1.Deployment
		rss  []*appsv1.ReplicaSet
		want map[string]int32
		op   string
	}{
		{"10→20 mid-rollout", dep(20, "3", "2"), []*appsv1.ReplicaSet{withMax(rs("old", 8, 8, 10), 13), withMax(rs("new", 5, 0, 1), 13)}, map[string]int32{"old": 14, "new": 9}, "up"},
		{"20→10", dep(10, "3", "2"), []*appsv1.ReplicaSet{withMax(rs("old", 14, 14, 10), 23), withMax(rs("new", 9, 0, 1), 23)}, map[string]int32{"old": 8, "new": 5}, "down"},
		{"to zero", dep(0, "3", "2"), []*appsv1.ReplicaSet{withMax(rs("old", 4, 4, 10), 13), withMax(rs("new", 2, 0, 1), 13)}, map[string]int32{"old": 0, "new": 0}, "down"},
		{"no change", dep(10, "3", "2"), []*appsv1.ReplicaSet{withMax(rs("old", 8, 8, 10), 13), withMax(rs("new", 5, 0, 1), 13)}, map[string]int32{"old": 8, "new": 5}, ""},
		// Kubernetes' table: 3 RSs of 2 each, 10 → 12 with 25%/25%.
		{"leftover to newest largest", dep(12, "25%", "25%"), []*appsv1.ReplicaSet{withMax(rs("a", 5, 5, 30), 13), withMax(rs("b", 4, 4, 20), 13), withMax(rs("c", 4, 4, 10), 13)}, map[string]int32{"a": 6, "b": 4, "c": 5}, "up"},
		{"missing annotation uses status", func() *appsv1.Deployment {
			d := dep(20, "0", "1")
			d.Status.Replicas = 10
			return d
		}(), []*appsv1.ReplicaSet{rs("old", 5, 5, 10), rs("new", 5, 0, 1)}, map[string]int32{"old": 10, "new": 10}, "up"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sizes, op := proportionalSizes(tc.d, tc.rss)
			if op != tc.op || fmt.Sprint(sizes) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v %q want %v %q", sizes, op, tc.want, tc.op)
			}
			var sum int32
			for _, v := range sizes {
				sum += v
			}
			if limit := replicasOf(tc.d) + maxSurge(tc.d); replicasOf(tc.d) > 0 && sum != limit && tc.op != "" {
				t.Fatalf("sum %d, want %d", sum, limit)
			}
		})
	}
}

func TestFindActiveOrLatestAndSaturated(t *testing.T) {
	a, b := rs("a", 0, 0, 30), rs("b", 0, 0, 20)
	n := rs("n", 0, 0, 1)
	if got := findActiveOrLatest(n, []*appsv1.ReplicaSet{a, b}); got != n {
		t.Fatalf("none active: %v", got.Name)
	}
	if got := findActiveOrLatest(nil, []*appsv1.ReplicaSet{a, b}); got != b {
		t.Fatalf("none active, no new: %v", got.Name)
	}
	a2 := rs("a", 3, 3, 30)
	if got := findActiveOrLatest(n, []*appsv1.ReplicaSet{a2, b}); got != a2 {
		t.Fatalf("one active: %v", got.Name)
	}
	if got := findActiveOrLatest(rs("n", 1, 0, 1), []*appsv1.ReplicaSet{a2}); got != nil {
		t.Fatal("two active must be nil")
	}
	d := dep(3, "1", "1")
	s := rs("s", 3, 3, 1)
	if isSaturated(d, s) {
		t.Fatal("saturated without the desired annotation")
	}
	s.Annotations = map[string]string{desiredReplicasAnnotation: "3"}
	if !isSaturated(d, s) {
		t.Fatal("not saturated")
	}
	s.Status.AvailableReplicas = 2
	if isSaturated(d, s) {
		t.Fatal("saturated with an unavailable pod")
	}
}

func TestRevisions(t *testing.T) {
	mk := func(rev string) *appsv1.ReplicaSet {
		r := rs("r"+rev, 0, 0, 1)
		if rev != "" {
			r.Annotations = map[string]string{revisionAnnotation: rev}
		}
		return r
	}
	rss := []*appsv1.ReplicaSet{mk("3"), mk("x"), mk("7"), mk(""), mk("5")}
	if maxRevision(rss) != 7 || lastRevision(rss) != 5 {
		t.Fatalf("max %d last %d", maxRevision(rss), lastRevision(rss))
	}
	if lastRevision([]*appsv1.ReplicaSet{mk("4")}) != 0 {
		t.Fatal("single revision has no last")
	}
}

func TestSetNewReplicaSetAnnotations(t *testing.T) {
	d := dep(4, "25%", "25%")
	d.Annotations = map[string]string{changeCauseAnnotation: "why", corev1.LastAppliedConfigAnnotation: "{}", revisionAnnotation: "99", "team": "a"}
	r := rs("r", 0, 0, 1)
	if !setNewReplicaSetAnnotations(d, r, "3", false, maxRevHistoryLengthInChars) {
		t.Fatal("no change reported")
	}
	want := map[string]string{changeCauseAnnotation: "why", "team": "a", revisionAnnotation: "3", desiredReplicasAnnotation: "4", maxReplicasAnnotation: "5"}
	if fmt.Sprint(r.Annotations) != fmt.Sprint(want) {
		t.Fatalf("annotations %v", r.Annotations)
	}
	if setNewReplicaSetAnnotations(d, r, "3", true, maxRevHistoryLengthInChars) {
		t.Fatal("idempotent call reported a change")
	}
	// Rolling back to r: revision 3 → 6, history "3"; then → 8: "3,6".
	setNewReplicaSetAnnotations(d, r, "6", true, maxRevHistoryLengthInChars)
	setNewReplicaSetAnnotations(d, r, "8", true, maxRevHistoryLengthInChars)
	if r.Annotations[revisionAnnotation] != "8" || r.Annotations[revisionHistoryAnnotation] != "3,6" {
		t.Fatalf("after rollbacks %v", r.Annotations)
	}
	// A lower revision never lowers it.
	if setNewReplicaSetAnnotations(d, r, "2", true, maxRevHistoryLengthInChars); r.Annotations[revisionAnnotation] != "8" {
		t.Fatal("revision lowered")
	}
	// History is bounded, oldest dropped first.
	r.Annotations[revisionHistoryAnnotation] = "10,11,12"
	r.Annotations[revisionAnnotation] = "13"
	setNewReplicaSetAnnotations(d, r, "14", true, 9)
	if got := r.Annotations[revisionHistoryAnnotation]; got != "11,12,13" {
		t.Fatalf("bounded history %q", got)
	}
	// Undo copies the RS's annotations back, keeping the skipped ones.
	d2 := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{revisionAnnotation: "14", changeCauseAnnotation: "new", "gone": "x"}}}
	setDeploymentAnnotationsTo(d2, r)
	if d2.Annotations[revisionAnnotation] != "14" || d2.Annotations[changeCauseAnnotation] != "why" || d2.Annotations["gone"] != "" || d2.Annotations[desiredReplicasAnnotation] != "" {
		t.Fatalf("rollback annotations %v", d2.Annotations)
	}
}

func TestComputeHash(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
	h := computeHash(tmpl, nil)
	if h != computeHash(tmpl.DeepCopy(), nil) {
		t.Fatal("not deterministic")
	}
	one := int32(1)
	if h == computeHash(tmpl, &one) {
		t.Fatal("collisionCount ignored")
	}
	other := tmpl.DeepCopy()
	other.Spec.Containers[0].Image = "nginx:2"
	if h == computeHash(other, nil) {
		t.Fatal("image ignored")
	}
	if len(h) < 5 || len(h) > 10 || strings.ContainsAny(h, "aeiou013") {
		t.Fatalf("hash %q is not a safe encoding of a uint32", h)
	}
}

func TestConditionsAndDeadline(t *testing.T) {
	deadline := int32(60)
	d := dep(3, "1", "0")
	d.Name = "web"
	d.Generation = 2
	d.Spec.ProgressDeadlineSeconds = &deadline
	newRS := rs("web-abc", 3, 1, 1)
	// Progress since the recorded status: ReplicaSetUpdated.
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 0,
		Conditions: []appsv1.DeploymentCondition{newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonNewRSCreated, "x", t0.Add(-time.Hour))}}
	st := rolloutStatus([]*appsv1.ReplicaSet{newRS}, newRS, d, t0)
	c := getCondition(st, appsv1.DeploymentProgressing)
	if c.Reason != reasonRSUpdated || c.Message != `ReplicaSet "web-abc" is progressing.` || !c.LastUpdateTime.Time.Equal(t0) || !c.LastTransitionTime.Time.Equal(t0.Add(-time.Hour)) {
		t.Fatalf("progressing = %+v", c)
	}
	a := getCondition(st, appsv1.DeploymentAvailable)
	if a.Reason != reasonMinUnavailable || a.Message != "Deployment does not have minimum availability." {
		t.Fatalf("available = %+v", a)
	}
	// No progress for longer than the deadline: timed out.
	d.Status = st
	st = rolloutStatus([]*appsv1.ReplicaSet{newRS}, newRS, d, t0.Add(61*time.Second))
	c = getCondition(st, appsv1.DeploymentProgressing)
	if c.Reason != reasonTimedOut || c.Status != corev1.ConditionFalse || c.Message != `ReplicaSet "web-abc" has timed out progressing.` {
		t.Fatalf("timeout = %+v", c)
	}
	if stuckRequeue(d, st, t0.Add(30*time.Second)) != 31*time.Second {
		t.Fatalf("requeue after %v", stuckRequeue(d, st, t0.Add(30*time.Second)))
	}
	// Complete.
	done := rs("web-abc", 3, 3, 1)
	d.Status = st
	st = rolloutStatus([]*appsv1.ReplicaSet{done}, done, d, t0.Add(time.Hour))
	c = getCondition(st, appsv1.DeploymentProgressing)
	if c.Reason != reasonNewRSAvailable || c.Status != corev1.ConditionTrue || c.Message != `ReplicaSet "web-abc" has successfully progressed.` {
		t.Fatalf("complete = %+v", c)
	}
	if a := getCondition(st, appsv1.DeploymentAvailable); a.Reason != reasonMinAvailable || a.Message != "Deployment has minimum availability." {
		t.Fatalf("available = %+v", a)
	}
	if !deploymentComplete(d, &st) || deploymentTimedOut(d, &st, t0.Add(100*time.Hour)) {
		t.Fatal("complete deployment must not time out")
	}
	// No deadline: no Progressing condition at all.
	d.Spec.ProgressDeadlineSeconds = nil
	if c := getCondition(rolloutStatus([]*appsv1.ReplicaSet{done}, done, d, t0), appsv1.DeploymentProgressing); c != nil {
		t.Fatalf("condition without deadline: %+v", c)
	}
}

func TestCalculateStatusCounts(t *testing.T) {
	d := dep(5, "1", "1")
	d.Generation = 7
	one, two := int32(1), int32(2)
	a, b := rs("a", 2, 1, 10), rs("b", 4, 3, 1)
	a.Status.TerminatingReplicas, b.Status.TerminatingReplicas = &one, &two
	st := calculateStatus([]*appsv1.ReplicaSet{a, b}, b, d, t0)
	if st.ObservedGeneration != 7 || st.Replicas != 6 || st.UpdatedReplicas != 4 || st.AvailableReplicas != 4 || st.UnavailableReplicas != 2 || *st.TerminatingReplicas != 3 {
		t.Fatalf("status = %+v", st)
	}
	b.Status.TerminatingReplicas = nil
	if st := calculateStatus([]*appsv1.ReplicaSet{a, b}, b, d, t0); st.TerminatingReplicas != nil {
		t.Fatal("terminatingReplicas must be unset when a ReplicaSet does not report it")
	}
}
