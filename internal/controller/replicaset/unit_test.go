package replicaset

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func node(n string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func phase(ph corev1.PodPhase) podOpt {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}
func readySince(d time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-d))})
	}
}
func created(d time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t0.Add(-d)) }
}
func restarts(n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{RestartCount: n})
	}
}
func cost(c string) podOpt {
	return func(p *corev1.Pod) {
		p.Annotations = map[string]string{"controller.kubernetes.io/pod-deletion-cost": c}
	}
}

func mkPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))}}
	p.Status.Phase = corev1.PodRunning
	p.Spec.NodeName = "n1"
	for _, o := range opts {
		o(p)
	}
	return p
}

func TestPodsToDeleteOrder(t *testing.T) {
	cases := []struct {
		name    string
		pods    []*corev1.Pod
		related []*corev1.Pod // nil: the pods themselves
		want    string        // the first pod chosen
	}{
		{"unassigned first", []*corev1.Pod{mkPod("a", readySince(time.Hour)), mkPod("b", node(""), phase(corev1.PodPending))}, nil, "b"},
		{"pending before running", []*corev1.Pod{mkPod("a", readySince(time.Hour)), mkPod("b", phase(corev1.PodPending))}, nil, "b"},
		{"unknown before running", []*corev1.Pod{mkPod("a"), mkPod("b", phase(corev1.PodUnknown))}, nil, "b"},
		{"pending before unknown", []*corev1.Pod{mkPod("a", phase(corev1.PodUnknown)), mkPod("b", phase(corev1.PodPending))}, nil, "b"},
		{"not ready before ready", []*corev1.Pod{mkPod("a", readySince(time.Minute)), mkPod("b")}, nil, "b"},
		{"lower deletion cost first", []*corev1.Pod{mkPod("a", readySince(time.Hour), cost("10")), mkPod("b", readySince(time.Hour), cost("-5"))}, nil, "b"},
		{"invalid cost is zero", []*corev1.Pod{mkPod("a", readySince(time.Hour), cost("1")), mkPod("b", readySince(time.Hour), cost("x"))}, nil, "b"},
		{"doubled up first", []*corev1.Pod{mkPod("a", node("n1"), readySince(time.Hour)), mkPod("b", node("n2"), readySince(time.Hour))},
			[]*corev1.Pod{mkPod("a", node("n1")), mkPod("b", node("n2")), mkPod("c", node("n2"))}, "b"},
		{"ready for less time first", []*corev1.Pod{mkPod("a", readySince(10*time.Hour)), mkPod("b", readySince(time.Minute))}, nil, "b"},
		{"more restarts first", []*corev1.Pod{mkPod("a", restarts(1)), mkPod("b", restarts(7))}, nil, "b"},
		{"newer first", []*corev1.Pod{mkPod("a", created(10*time.Hour)), mkPod("b", created(time.Minute))}, nil, "b"},
		{"empty creation time first", []*corev1.Pod{mkPod("a"), mkPod("b", func(p *corev1.Pod) { p.CreationTimestamp = metav1.Time{} })}, nil, "b"},
		{"same log bucket: by uid", []*corev1.Pod{mkPod("b", created(time.Hour)), mkPod("a", created(time.Hour+time.Second))}, nil, "a"},
		{"phase beats readiness", []*corev1.Pod{mkPod("a"), mkPod("b", phase(corev1.PodPending), readySince(time.Hour))}, nil, "b"},
		{"readiness beats cost", []*corev1.Pod{mkPod("a", cost("100")), mkPod("b", readySince(time.Hour), cost("-100"))}, nil, "a"},
		{"restarts beat age", []*corev1.Pod{mkPod("a", created(time.Minute)), mkPod("b", created(time.Hour*100), restarts(1))}, nil, "b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			related := tc.related
			if related == nil {
				related = tc.pods
			}
			got := podsToDelete(append([]*corev1.Pod(nil), tc.pods...), related, 1, t0)
			if len(got) != 1 || got[0].Name != tc.want {
				t.Fatalf("chose %s, want %s", got[0].Name, tc.want)
			}
		})
	}
}

func TestPodsToDeleteAll(t *testing.T) {
	pods := []*corev1.Pod{mkPod("a"), mkPod("b")}
	if got := podsToDelete(pods, pods, 5, t0); len(got) != 2 {
		t.Fatalf("got %d pods", len(got))
	}
}

func TestSlowStartBatch(t *testing.T) {
	cases := []struct {
		count, initial, failAt int // failAt: the call number (1-based) that fails, 0 none
		wantOK, wantCalls      int
	}{
		{0, 1, 0, 0, 0},
		{1, 1, 0, 1, 1},
		{10, 1, 0, 10, 10},
		{10, 1, 1, 0, 1}, // first batch of 1 fails: stop
		{10, 1, 2, 2, 3}, // batch 2 (2 calls) has a failure: 1+1 ok, 3 calls
		{10, 1, 4, 6, 7}, // batches 1,2,4: 7 calls, 1 failure
		{500, 1, 0, 500, 500},
		{7, 2, 0, 7, 7},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.count, "/", tc.failAt), func(t *testing.T) {
			var calls atomic.Int32
			ok, err := slowStartBatch(tc.count, tc.initial, func() error {
				if n := calls.Add(1); tc.failAt > 0 && int(n) == tc.failAt {
					return errors.New("boom")
				}
				return nil
			})
			if ok != tc.wantOK || int(calls.Load()) != tc.wantCalls || (err != nil) != (tc.failAt > 0) {
				t.Fatalf("ok=%d calls=%d err=%v, want ok=%d calls=%d", ok, calls.Load(), err, tc.wantOK, tc.wantCalls)
			}
		})
	}
}

func TestCalculateStatus(t *testing.T) {
	three := int32(3)
	rs := &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: &three, MinReadySeconds: 10,
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x", "v": "1"}}}}}
	labeled := func(p *corev1.Pod) { p.Labels = map[string]string{"app": "x", "v": "1"} }
	active := []*corev1.Pod{
		mkPod("a", labeled, readySince(time.Minute)), // available
		mkPod("b", labeled, readySince(time.Second)), // ready, not yet available
		mkPod("c"), // neither, not fully labeled
	}
	st := calculateStatus(rs, active, []*corev1.Pod{mkPod("d")}, nil, t0)
	if st.Replicas != 3 || st.FullyLabeledReplicas != 2 || st.ReadyReplicas != 2 || st.AvailableReplicas != 1 || *st.TerminatingReplicas != 1 {
		t.Fatalf("status = %+v", st)
	}
	if d := nextAvailableCheck(rs, active, t0); d != 9*time.Second {
		t.Fatalf("next check in %v, want 9s", d)
	}
	// A failed create sets ReplicaFailure/FailedCreate once; success clears it.
	st = calculateStatus(rs, active[:1], nil, errors.New("quota"), t0)
	c := getCondition(st, appsv1.ReplicaSetReplicaFailure)
	if c == nil || c.Reason != "FailedCreate" || c.Message != "quota" || c.Status != corev1.ConditionTrue {
		t.Fatalf("condition = %+v", c)
	}
	rs.Status = st
	st = calculateStatus(rs, active, nil, errors.New("other"), t0.Add(time.Hour))
	if c := getCondition(st, appsv1.ReplicaSetReplicaFailure); c.Message != "quota" {
		t.Fatalf("existing condition rewritten: %+v", c)
	}
	rs.Status = st
	st = calculateStatus(rs, append(active, mkPod("e")), nil, errors.New("forbidden"), t0)
	if c := getCondition(st, appsv1.ReplicaSetReplicaFailure); c == nil {
		t.Fatal("condition lost")
	}
	st = calculateStatus(rs, active, nil, nil, t0)
	if c := getCondition(st, appsv1.ReplicaSetReplicaFailure); c != nil {
		t.Fatalf("condition not cleared: %+v", c)
	}
	rs.Status = appsv1.ReplicaSetStatus{}
	st = calculateStatus(rs, append(active, mkPod("e")), nil, errors.New("forbidden"), t0)
	if c := getCondition(st, appsv1.ReplicaSetReplicaFailure); c.Reason != "FailedDelete" {
		t.Fatalf("reason = %s", c.Reason)
	}
}

func TestExpectations(t *testing.T) {
	now := t0
	e := newExpectations(func() time.Time { return now })
	if !e.satisfied("ns/a") {
		t.Fatal("unknown key must be satisfied")
	}
	e.expectCreations("ns/a", 2)
	if e.satisfied("ns/a") {
		t.Fatal("satisfied with pending creations")
	}
	e.creationObserved("ns/a")
	e.creationObserved("ns/a")
	if !e.satisfied("ns/a") {
		t.Fatal("not satisfied after observing all")
	}
	e.expectDeletions("ns/a", []string{"ns/p1", "ns/p2"})
	e.deletionObserved("ns/a", "ns/p1")
	e.deletionObserved("ns/a", "ns/p1")
	if e.satisfied("ns/a") {
		t.Fatal("double observation of one pod counted twice")
	}
	now = now.Add(expectationsTimeout + time.Second)
	if !e.satisfied("ns/a") {
		t.Fatal("expired expectations must be satisfied")
	}
	e.forget("ns/a")
	if !e.satisfied("ns/a") {
		t.Fatal("forgotten key must be satisfied")
	}
}
