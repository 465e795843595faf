package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// podTimes is when the benchmark saw each stage of one pod: created is
// taken just before the create call, the others when the watch first
// delivered the pod in that state (as a user's watch sees it, not as the
// server stamped it: the status timestamps are truncated to seconds).
type podTimes struct {
	created, createdReturn time.Time
	bound, running, ready  time.Time
	gone                   time.Time
	ip                     string
}

// podWatch follows the pods of one label selector through an informer
// started before the first of them is created.
type podWatch struct {
	mu      sync.Mutex
	pods    map[string]*podTimes
	changed chan struct{} // closed and replaced on every event
	stop    func()
}

func newPodWatch(ctx context.Context, cs kubernetes.Interface, ns, selector string) (*podWatch, error) {
	w := &podWatch{pods: map[string]*podTimes{}, changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(ctx)
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	inf := f.Core().V1().Pods().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { w.seen(o, false) },
		UpdateFunc: func(_, o any) { w.seen(o, false) },
		DeleteFunc: func(o any) { w.seen(o, true) },
	})
	if err != nil {
		cancel()
		return nil, err
	}
	f.Start(ctx.Done())
	w.stop = func() { cancel(); f.Shutdown() }
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		w.stop()
		return nil, fmt.Errorf("pod watch did not sync")
	}
	return w, nil
}

func (w *podWatch) seen(obj any, deleted bool) {
	now := time.Now()
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.entry(pod.Name)
	set := func(at *time.Time, cond bool) {
		if cond && at.IsZero() {
			*at = now
		}
	}
	set(&t.bound, pod.Spec.NodeName != "")
	set(&t.running, pod.Status.Phase == corev1.PodRunning)
	set(&t.ready, podReady(pod))
	set(&t.gone, deleted)
	if pod.Status.PodIP != "" {
		t.ip = pod.Status.PodIP
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// entry is name's record, made on first use; w.mu must be held.
func (w *podWatch) entry(name string) *podTimes {
	t, ok := w.pods[name]
	if !ok {
		t = &podTimes{}
		w.pods[name] = t
	}
	return t
}

// created records the moments around name's create call.
func (w *podWatch) created(name string, before, after time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.entry(name)
	t.created, t.createdReturn = before, after
}

// get is a copy of name's record.
func (w *podWatch) get(name string) podTimes {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.pods[name]; ok {
		return *t
	}
	return podTimes{}
}

// wait returns once cond, called with w.mu held, holds, or when ctx ends.
func (w *podWatch) wait(ctx context.Context, cond func(pods map[string]*podTimes) bool) error {
	for {
		w.mu.Lock()
		ok, ch := cond(w.pods), w.changed
		w.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitNodeReady waits until the server's own agent has registered a Ready
// node, so that the first pods do not wait for it.
func waitNodeReady(ctx context.Context, cs kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := waitFor(ctx, func() bool {
		l, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, n := range l.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue && !n.Spec.Unschedulable {
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("waiting for a Ready node: %w", err)
	}
	return nil
}

// span is the time from a to b for each record where both are set.
func span(ts []podTimes, a, b func(podTimes) time.Time) []time.Duration {
	var out []time.Duration
	for _, t := range ts {
		if x, y := a(t), b(t); !x.IsZero() && !y.IsZero() {
			out = append(out, y.Sub(x))
		}
	}
	return out
}

// pctRow is a Markdown table row: label, then p50, p90, p99 and max of ds.
func pctRow(label string, ds []time.Duration) string {
	return fmt.Sprintf("| %s | %v | %v | %v | %v | %d |\n", label, pct(ds, 50), pct(ds, 90), pct(ds, 99), pct(ds, 100), len(ds))
}

const pctHeader = "| interval | p50 | p90 | p99 | max | n |\n|---|---|---|---|---|---|\n"

// benchServiceCIDR keeps the benchmark servers' ClusterIPs (and their
// proxies' listeners) apart from those of any other skiff server on the
// machine with the default range, such as end-to-end tests running at the
// same time.
const benchServiceCIDR = "127.99.0.0/16"
