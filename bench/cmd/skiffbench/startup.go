package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// startupRate is the pace of the pod creates, as in the issue.
const startupRate = 20 // pods per second

// startWithAgent starts a server with its agent and proxy, on a service
// range of its own, and waits until its node is Ready.
func startWithAgent(ctx context.Context, bin, dir string) (*proc, kubernetes.Interface, error) {
	p, _, err := startWith(bin, dir, "--stop-pods-on-exit", "--service-cidr", benchServiceCIDR)
	if err != nil {
		return nil, nil, err
	}
	cs, err := p.client()
	if err == nil {
		err = waitNodeReady(ctx, cs)
	}
	if err != nil {
		p.stop()
		return nil, nil, err
	}
	return p, cs, nil
}

// benchStartup measures pod start-up latency (issue 4) on a server with
// its default controllers and the real node agent: n pods, each running
// /bin/sleep, are created at startupRate, and each one's latency is from
// just before its create call to the moment a watch started before the
// first create sees its Ready condition True. It also reads the server's
// memory with no pods and with the n pods running.
func benchStartup(bin, tmp string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, cs, err := startWithAgent(ctx, bin, filepath.Join(tmp, "startup"))
	if err != nil {
		return err
	}
	defer p.stop()
	// Let start-up work settle, and the server give back its start-up
	// memory (3 s after ready), before the idle reading.
	time.Sleep(5 * time.Second)
	rss0, anon0 := p.rss()

	const selector = "app=startup-bench"
	w, err := newPodWatch(ctx, cs, "default", selector)
	if err != nil {
		return err
	}
	defer w.stop()
	defer deletePods(cs, w, selector)

	names := make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var createErr error
	tick := time.NewTicker(time.Second / startupRate)
	t0 := time.Now()
	for i := range n {
		names[i] = fmt.Sprintf("startup-%04d", i)
		if i > 0 {
			<-tick.C
		}
		// Each create on its own goroutine, so that a slow one does not
		// hold back the pace.
		wg.Go(func() {
			before := time.Now()
			_, err := cs.CoreV1().Pods("default").Create(ctx, sleepPod(names[i]), metav1.CreateOptions{})
			if err != nil {
				mu.Lock()
				createErr = err
				mu.Unlock()
				return
			}
			w.created(names[i], before, time.Now())
		})
	}
	tick.Stop()
	wg.Wait()
	createSpan := time.Since(t0)
	if createErr != nil {
		return fmt.Errorf("create: %w", createErr)
	}
	// Bounded: every pod Ready, or 60 s after the last create.
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	waitErr := w.wait(wctx, func(pods map[string]*podTimes) bool {
		for _, name := range names {
			if t := pods[name]; t == nil || t.ready.IsZero() {
				return false
			}
		}
		return true
	})
	wcancel()
	var ts []podTimes
	for _, name := range names {
		ts = append(ts, w.get(name))
	}
	ready := len(span(ts, func(t podTimes) time.Time { return t.created }, func(t podTimes) time.Time { return t.ready }))

	time.Sleep(2 * time.Second)
	rss1, anon1 := p.rss()

	fmt.Printf("\n## Pod start-up (`skiff server --stop-pods-on-exit`: default controllers and the node agent)\n\n")
	fmt.Printf("%d pods of one `/bin/sleep 3600` container, no probes, created at %d/s (the creates took %v); %d of them seen Ready", n, startupRate, createSpan.Round(time.Millisecond), ready)
	if waitErr != nil {
		fmt.Printf(" (the others not within 60 s)")
	}
	fmt.Printf(". Times are when the benchmark's watch received each state.\n\n")
	created := func(t podTimes) time.Time { return t.created }
	fmt.Print(pctHeader)
	fmt.Print(pctRow("**create call → Ready seen**", span(ts, created, func(t podTimes) time.Time { return t.ready })))
	fmt.Print(pctRow("create call (round trip)", span(ts, created, func(t podTimes) time.Time { return t.createdReturn })))
	fmt.Print(pctRow("create call → bound seen (scheduler)", span(ts, created, func(t podTimes) time.Time { return t.bound })))
	fmt.Print(pctRow("bound seen → Running seen (agent starts the process)", span(ts, func(t podTimes) time.Time { return t.bound }, func(t podTimes) time.Time { return t.running })))
	fmt.Print(pctRow("Running seen → Ready seen", span(ts, func(t podTimes) time.Time { return t.running }, func(t podTimes) time.Time { return t.ready })))
	fmt.Printf("\nServer memory (the pods' own processes are separate processes, not counted):\n\n| state | RSS | anonymous |\n|---|---|---|\n")
	fmt.Printf("| node Ready, no pods | %s | %s |\n| %d pods running | %s | %s |\n", mb(rss0), mb(anon0), n, mb(rss1), mb(anon1))
	fmt.Printf("| per running pod | %s | %s |\n", kb((rss1-rss0)/int64(n)), kb((anon1-anon0)/int64(n)))
	return nil
}

// sleepPod is a pod whose one container sleeps for an hour: Ready as soon
// as its process has started.
func sleepPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "startup-bench"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "sleep", Image: "bench/sleep", Command: []string{"/bin/sleep", "3600"},
		}}},
	}
}

// deletePods deletes the benchmark's pods and waits (bounded) until the
// watch has seen them go, so that their processes are stopped by the
// agent; --stop-pods-on-exit stops any left when the server exits.
func deletePods(cs kubernetes.Interface, w *podWatch, selector string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cs.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: selector}); err != nil {
		fmt.Printf("\n(deleting the pods: %v)\n", err)
		return
	}
	err := w.wait(ctx, func(pods map[string]*podTimes) bool {
		for _, t := range pods {
			if !t.created.IsZero() && t.gone.IsZero() {
				return false
			}
		}
		return true
	})
	if err != nil {
		fmt.Printf("\n(waiting for the pods to be deleted: %v)\n", err)
	}
}

func kb(b int64) string { return fmt.Sprintf("%.0f kB", float64(b)/1e3) }
