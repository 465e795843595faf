package scheduler

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	testingclock "k8s.io/utils/clock/testing"
)

func newTestQueue() (*queue, *testingclock.FakeClock) {
	clk := testingclock.NewFakeClock(time.Unix(1000, 0))
	return newQueue(clk, time.Second, 10*time.Second), clk
}

func mustPop(t *testing.T, q *queue) (*v1.Pod, uint64) {
	t.Helper()
	a, _, _ := q.counts()
	if a == 0 {
		t.Fatalf("nothing active")
	}
	p, c, ok := q.pop()
	if !ok {
		t.Fatalf("queue closed")
	}
	return p, c
}

func TestQueueOrder(t *testing.T) {
	q, _ := newTestQueue()
	hi := int32(100)
	q.add(mkPod("first"))
	q.add(mkPod("second"))
	q.add(mkPod("urgent", func(p *v1.Pod) { p.Spec.Priority = &hi }))
	for _, want := range []string{"urgent", "first", "second"} {
		if p, _ := mustPop(t, q); p.Name != want {
			t.Errorf("popped %s, want %s", p.Name, want)
		}
	}
}

func TestQueueUnschedulableWaitsForChange(t *testing.T) {
	q, clk := newTestQueue()
	q.add(mkPod("p"))
	p, cycle := mustPop(t, q)
	q.requeue(p.UID, cycle, true)
	if a, b, u := q.counts(); a != 0 || b != 0 || u != 1 {
		t.Fatalf("counts %d/%d/%d, want parked", a, b, u)
	}
	q.flush()
	if _, _, u := q.counts(); u != 1 {
		t.Fatalf("flush must not wake an unschedulable pod early")
	}
	// A change inside the backoff: backs off, then activates.
	q.moveAll()
	if _, b, _ := q.counts(); b != 1 {
		t.Fatalf("moved pod should back off")
	}
	clk.Step(time.Second)
	q.flush()
	if a, _, _ := q.counts(); a != 1 {
		t.Fatalf("pod not active after backoff")
	}
	// Second failure: 2s backoff.
	p, cycle = mustPop(t, q)
	q.requeue(p.UID, cycle, true)
	clk.Step(1500 * time.Millisecond)
	q.moveAll()
	q.flush()
	if a, b, _ := q.counts(); a != 0 || b != 1 {
		t.Fatalf("second backoff should be 2s")
	}
	clk.Step(time.Second)
	q.flush()
	if a, _, _ := q.counts(); a != 1 {
		t.Fatalf("pod not active after 2s")
	}
	// Long unschedulable pods are retried anyway.
	p, cycle = mustPop(t, q)
	q.requeue(p.UID, cycle, true)
	clk.Step(5 * time.Minute)
	q.flush()
	if a, _, _ := q.counts(); a != 1 {
		t.Fatalf("pod not retried after 5 minutes")
	}
}

func TestQueueChangeDuringAttempt(t *testing.T) {
	q, _ := newTestQueue()
	q.add(mkPod("p"))
	p, cycle := mustPop(t, q)
	q.moveAll() // e.g. a node was added while the pod was being decided
	q.requeue(p.UID, cycle, true)
	if _, b, u := q.counts(); b != 1 || u != 0 {
		t.Fatalf("a pod that may have missed a change must back off, not park (backoff %d, unschedulable %d)", b, u)
	}
}

func TestQueueUpdatesAndDeletes(t *testing.T) {
	q, clk := newTestQueue()
	q.add(mkPod("p"))
	p, cycle := mustPop(t, q)
	q.requeue(p.UID, cycle, true)
	// A status-only update keeps it parked; a spec change retries it.
	st := p.DeepCopy()
	st.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse}}
	st.ResourceVersion = "7"
	q.update(st)
	if _, _, u := q.counts(); u != 1 {
		t.Fatalf("status update woke the pod")
	}
	clk.Step(time.Second)
	changed := st.DeepCopy()
	changed.Spec.NodeSelector = map[string]string{"a": "b"}
	q.update(changed)
	got, _ := mustPop(t, q)
	if got.Spec.NodeSelector["a"] != "b" {
		t.Errorf("popped the old version")
	}
	q.done(got.UID)
	q.add(mkPod("gone"))
	q.delete(mkPod("gone").UID)
	if a, b, u := q.counts(); a+b+u != 0 {
		t.Errorf("queue not empty: %d/%d/%d", a, b, u)
	}
	// A deleted in-flight pod is not requeued.
	q.add(mkPod("x"))
	x, c := mustPop(t, q)
	q.delete(x.UID)
	q.requeue(x.UID, c, true)
	if a, b, u := q.counts(); a+b+u != 0 {
		t.Errorf("deleted pod came back")
	}
}

func TestQueueCloseWakesPop(t *testing.T) {
	q, _ := newTestQueue()
	done := make(chan bool)
	go func() {
		_, _, ok := q.pop()
		done <- ok
	}()
	q.close()
	if <-done {
		t.Error("pop returned a pod from a closed queue")
	}
}

func TestCacheAssumeConfirmForget(t *testing.T) {
	c := newCache()
	c.setNode(mkNode("b"))
	c.setNode(mkNode("a"))
	snap := c.snapshot()
	if len(snap) != 2 || snap[0].Name() != "a" || snap[1].Name() != "b" {
		t.Fatalf("snapshot order %v", snap)
	}
	p := mkPod("p", requests("cpu", "1"))
	c.assume(NewPodInfo(p), "a")
	if !c.isAssumed(p.UID) {
		t.Fatal("not assumed")
	}
	if snap[0].Requested.MilliCPU != 0 {
		t.Error("an earlier snapshot changed")
	}
	if got := c.snapshot()[0].Requested.MilliCPU; got != 1000 {
		t.Errorf("assumed pod not counted: %d", got)
	}
	bound := p.DeepCopy()
	bound.Spec.NodeName = "a"
	c.setPod(bound)
	c.forget(p.UID) // a late failure report must not drop a confirmed pod
	if got := c.snapshot()[0]; got.Requested.MilliCPU != 1000 || len(got.Pods) != 1 {
		t.Errorf("confirmed pod lost: %+v", got.Requested)
	}
	q := mkPod("q", requests("cpu", "2"))
	c.assume(NewPodInfo(q), "b")
	c.forget(q.UID)
	if got := c.snapshot()[1].Requested.MilliCPU; got != 0 {
		t.Errorf("forgotten pod still counted: %d", got)
	}
	// Pods on an unknown node are kept but the node is not offered.
	orphan := mkPod("o")
	orphan.Spec.NodeName = "ghost"
	c.setPod(orphan)
	if len(c.snapshot()) != 2 {
		t.Error("node without Node object offered")
	}
	c.setNode(mkNode("ghost"))
	if s := c.snapshot(); len(s) != 3 || len(s[2].Pods) != 1 {
		t.Error("pod bound before its node appeared is not counted")
	}
	c.removeNode("a")
	if s := c.snapshot(); len(s) != 2 || s[0].Name() != "b" {
		t.Errorf("removed node still offered")
	}
	if !c.removePod(p.UID) || c.removePod(p.UID) {
		t.Error("removePod reports wrongly")
	}
}
