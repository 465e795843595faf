package scheduler

import (
	"container/heap"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Where a queued pod is.
const (
	inActive = iota + 1
	inBackoff
	inUnschedulable
	inFlight
)

// queuedPod is a pending pod in the queue.
type queuedPod struct {
	pod      *v1.Pod
	where    int
	attempts int
	// backoffUntil: not retried before, even when the cluster changes.
	backoffUntil time.Time
	// since is when the pod became unschedulable.
	since time.Time
	seq   uint64
	index int
}

// queue holds the pods waiting for a decision, as kube-scheduler's
// scheduling queue: active pods ordered by priority then arrival, pods
// backing off after a failed attempt, and unschedulable pods parked until
// the cluster changes (moveAll) or maxUnschedulable passes.
type queue struct {
	clock            clock.Clock
	initialBackoff   time.Duration
	maxBackoff       time.Duration
	maxUnschedulable time.Duration

	mu     sync.Mutex
	cond   *sync.Cond
	items  map[types.UID]*queuedPod
	active activeHeap
	seq    uint64
	// cycle counts pops; moveCycle is the cycle of the last moveAll. A
	// pod found unschedulable in a cycle at or before moveCycle may have
	// missed the change that helps it, so it backs off instead of parking.
	cycle, moveCycle uint64
	closed           bool
}

func newQueue(clk clock.Clock, initialBackoff, maxBackoff time.Duration) *queue {
	q := &queue{
		clock: clk, initialBackoff: initialBackoff, maxBackoff: maxBackoff,
		// kube-scheduler's podMaxInUnschedulablePodsDuration.
		maxUnschedulable: 5 * time.Minute,
		items:            map[types.UID]*queuedPod{},
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// add queues a new pending pod, or updates it if queued.
func (q *queue) add(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if it, ok := q.items[pod.UID]; ok {
		q.updateLocked(it, pod)
		return
	}
	it := &queuedPod{pod: pod}
	q.items[pod.UID] = it
	q.pushActiveLocked(it)
}

// update records a newer version of a pending pod. An unschedulable pod
// whose spec or labels changed is retried (after its backoff).
func (q *queue) update(pod *v1.Pod) {
	q.add(pod)
}

func (q *queue) updateLocked(it *queuedPod, pod *v1.Pod) {
	old := it.pod
	it.pod = pod
	if it.where == inActive {
		heap.Fix(&q.active, it.index) // the priority may have changed
	}
	if it.where == inUnschedulable && podChanged(old, pod) {
		q.moveLocked(it)
	}
}

// podChanged reports a change other than status or bookkeeping, one that
// may make the pod fit where it did not.
func podChanged(old, cur *v1.Pod) bool {
	strip := func(p *v1.Pod) *v1.Pod {
		c := *p
		c.ObjectMeta = *p.ObjectMeta.DeepCopy()
		c.ResourceVersion, c.Generation, c.ManagedFields = "", 0, nil
		c.Status = v1.PodStatus{}
		return &c
	}
	return !equality.Semantic.DeepEqual(strip(old), strip(cur))
}

func (q *queue) delete(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[uid]
	if !ok {
		return
	}
	if it.where == inActive {
		heap.Remove(&q.active, it.index)
	}
	delete(q.items, uid)
}

// pop blocks until a pod is active and hands it out, with the cycle it
// is decided in; ok is false once the queue is closed.
func (q *queue) pop() (pod *v1.Pod, cycle uint64, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.active) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, 0, false
	}
	it := heap.Pop(&q.active).(*queuedPod)
	it.where = inFlight
	q.cycle++
	return it.pod, q.cycle, true
}

// done ends the attempt for a pod that was assumed on a node.
func (q *queue) done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if it, ok := q.items[uid]; ok && it.where == inFlight {
		delete(q.items, uid)
	}
}

// requeue ends a failed attempt: an unschedulable pod parks until the
// cluster changes, other failures back off. Either way the backoff grows
// with the attempts. A pod deleted meanwhile is dropped.
func (q *queue) requeue(uid types.UID, cycle uint64, unschedulable bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[uid]
	if !ok || it.where != inFlight {
		return
	}
	it.attempts++
	now := q.clock.Now()
	it.backoffUntil = now.Add(q.backoff(it.attempts))
	if unschedulable && q.moveCycle < cycle {
		it.where, it.since = inUnschedulable, now
		return
	}
	it.where = inBackoff
}

// addBackoff queues a pod again after a failed binding.
func (q *queue) addBackoff(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.items[pod.UID]; ok {
		return
	}
	q.items[pod.UID] = &queuedPod{pod: pod, where: inBackoff, attempts: 1,
		backoffUntil: q.clock.Now().Add(q.backoff(1))}
}

// backoff is initialBackoff doubled per attempt after the first, capped
// at maxBackoff (kube-scheduler: 1s, 10s).
func (q *queue) backoff(attempts int) time.Duration {
	d := q.initialBackoff
	for i := 1; i < attempts && d < q.maxBackoff; i++ {
		d *= 2
	}
	return min(d, q.maxBackoff)
}

// moveAll retries the unschedulable pods because the cluster changed:
// at once, or when their backoff ends.
func (q *queue) moveAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveCycle = q.cycle
	for _, it := range q.items {
		if it.where == inUnschedulable {
			q.moveLocked(it)
		}
	}
}

func (q *queue) moveLocked(it *queuedPod) {
	if q.clock.Now().Before(it.backoffUntil) {
		it.where = inBackoff
		return
	}
	q.pushActiveLocked(it)
}

// flush activates pods whose backoff ended and pods unschedulable for
// longer than maxUnschedulable. Called periodically.
func (q *queue) flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for _, it := range q.items {
		switch it.where {
		case inBackoff:
			if !now.Before(it.backoffUntil) {
				q.pushActiveLocked(it)
			}
		case inUnschedulable:
			if now.Sub(it.since) >= q.maxUnschedulable {
				q.moveLocked(it)
			}
		}
	}
}

func (q *queue) pushActiveLocked(it *queuedPod) {
	q.seq++
	it.seq, it.where = q.seq, inActive
	heap.Push(&q.active, it)
	q.cond.Signal()
}

// close wakes pop for good.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// counts counts queued pods by place, for tests.
func (q *queue) counts() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.items {
		switch it.where {
		case inActive:
			active++
		case inBackoff:
			backoff++
		case inUnschedulable:
			unschedulable++
		}
	}
	return
}

// activeHeap orders by priority (higher first), then arrival.
type activeHeap []*queuedPod

func (h activeHeap) Len() int { return len(h) }
func (h activeHeap) Less(i, j int) bool {
	pi, pj := priority(h[i].pod), priority(h[j].pod)
	if pi != pj {
		return pi > pj
	}
	return h[i].seq < h[j].seq
}
func (h activeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *activeHeap) Push(x any) {
	it := x.(*queuedPod)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *activeHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.index = -1
	return it
}

func priority(p *v1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}
