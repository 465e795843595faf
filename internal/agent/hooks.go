package agent

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/internal/agent/runtime"
)

// Lifecycle hooks, as the kubelet runs them:
//
//   - postStart runs right after the container's process starts; until it
//     returns the container shows as Waiting (ContainerCreating), not
//     started, and its probes do not run. If it fails the container is
//     killed (SIGTERM, SIGKILL after the grace period) with a
//     FailedPostStartHook Warning event, and restarts by its restartPolicy.
//   - preStop runs when the pod is deleted, after the agent's endpoint
//     drain (drain.go) and before SIGTERM, within the grace period; a
//     failure gives a FailedPreStopHook Warning event and SIGTERM follows
//     anyway. SIGKILL comes at the end of the grace period, but never
//     less than minHookGrace after the hook returned.
//
// exec hooks run with the container's environment, working directory,
// user and mount view; httpGet hooks go to the pod's address unless they
// name a host; sleep hooks just wait.

const (
	reasonFailedPostStartHook = "FailedPostStartHook"
	reasonFailedPreStopHook   = "FailedPreStopHook"
	// minHookGrace is the kubelet's minimum grace after a preStop hook
	// that used up the grace period.
	minHookGrace = 2 * time.Second
)

// runHook runs h for container c of pod; the error says what failed in
// the kubelet's words.
func runHook(ctx context.Context, h *corev1.LifecycleHandler, pod *corev1.Pod, t probeTarget) error {
	c := t.container
	switch {
	case h.Exec != nil:
		if len(h.Exec.Command) == 0 {
			return fmt.Errorf("exec lifecycle hook for container %q in pod %q has no command", c.Name, pod.Name)
		}
		out, err := runExec(ctx, h.Exec.Command, t)
		if err != nil {
			return fmt.Errorf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q", h.Exec.Command, c.Name, pod.Name, err, truncate(out, 1024))
		}
	case h.HTTPGet != nil:
		if ok, msg := probeHTTP(ctx, h.HTTPGet, t); !ok {
			return fmt.Errorf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %s", h.HTTPGet.Path, c.Name, pod.Name, msg)
		}
	case h.Sleep != nil:
		if !sleepCtx(ctx, time.Duration(h.Sleep.Seconds)*time.Second) {
			return errors.New("container terminated before sleep hook finished")
		}
	}
	return nil
}

// hookContext is ctx, also cancelled when proc exits: a hook does not
// outlive its container.
func (w *podWorker) hookContext(ctx context.Context, proc *runtime.Process) (context.Context, context.CancelFunc) {
	hctx, cancel := context.WithCancel(ctx)
	w.a.workersWG.Go(func() {
		select {
		case <-proc.Done():
			cancel()
		case <-hctx.Done():
		}
	})
	return hctx, cancel
}

// startPostStart runs c's postStart hook for the run that just started;
// the run's probes start when it succeeds. Called with w.mu held.
func (w *podWorker) startPostStart(pod *corev1.Pod, c *corev1.Container, cs *ctrState, attempt int32) {
	ctx, cancel := context.WithCancel(w.ctx)
	cs.hookCancel = cancel
	cs.postStarting = true
	cs.Started, cs.Ready = false, false
	proc := cs.proc
	target := w.execTarget(ctx, pod, c)
	grace := gracePeriod(pod, false)
	w.a.workersWG.Go(func() {
		hctx, stop := w.hookContext(ctx, proc)
		err := runHook(hctx, c.Lifecycle.PostStart, pod, target)
		stop()
		select {
		case <-proc.Done():
			return // the exit is the worker's to handle
		default:
		}
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		if w.st.Containers[c.Name] != cs || cs.proc != proc || cs.Run == nil || cs.Run.Attempt != attempt {
			w.mu.Unlock()
			return
		}
		cs.postStarting, cs.hookCancel = false, nil
		if err == nil {
			w.startProbes(w.podSnapshot(), c, cs, attempt)
			w.save()
			w.mu.Unlock()
			w.poke()
			return
		}
		w.mu.Unlock()
		cancel()
		w.event(pod, c.Name, corev1.EventTypeWarning, reasonFailedPostStartHook, err.Error())
		w.event(pod, c.Name, corev1.EventTypeNormal, "Killing", fmt.Sprintf("FailedPostStartHook: container %s will be killed and restarted", c.Name))
		if c.Lifecycle.PreStop != nil {
			grace = w.preStopBeforeKill(w.ctx, pod, c, proc, target, grace)
		}
		w.terminate(proc, grace)
	})
}

// preStopBeforeKill runs c's preStop hook before a run is killed while
// the pod stays (failed liveness, startup or postStart), as the kubelet
// does; it returns the grace left for SIGTERM.
func (w *podWorker) preStopBeforeKill(ctx context.Context, pod *corev1.Pod, c *corev1.Container, proc *runtime.Process, target probeTarget, grace time.Duration) time.Duration {
	start := time.Now()
	hctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	hctx, stop := w.hookContext(hctx, proc)
	err := runHook(hctx, c.Lifecycle.PreStop, pod, target)
	stop()
	if err != nil {
		w.event(pod, c.Name, corev1.EventTypeWarning, reasonFailedPreStopHook, err.Error())
	}
	return max(grace-time.Since(start), minHookGrace)
}

// terminate sends proc SIGTERM and SIGKILL after grace.
func (w *podWorker) terminate(proc *runtime.Process, grace time.Duration) {
	proc.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-proc.Done():
	case <-t.C:
		proc.Signal(syscall.SIGKILL)
	}
}

// startPreStop runs c's preStop hook and then sends SIGTERM to proc, in
// the background; w.killAt (SIGKILL) stays the worker's. Called with
// w.mu held.
func (w *podWorker) startPreStop(pod *corev1.Pod, c *corev1.Container, proc *runtime.Process) {
	ctx, cancel := context.WithDeadline(w.ctx, w.killAt)
	target := w.execTarget(ctx, pod, c)
	w.a.workersWG.Go(func() {
		defer cancel()
		hctx, stop := w.hookContext(ctx, proc)
		err := runHook(hctx, c.Lifecycle.PreStop, pod, target)
		stop()
		if err != nil {
			w.event(pod, c.Name, corev1.EventTypeWarning, reasonFailedPreStopHook, err.Error())
		}
		w.mu.Lock()
		if at := time.Now().Add(minHookGrace); w.killAt.Before(at) {
			w.killAt = at
		}
		w.mu.Unlock()
		if err := proc.Signal(syscall.SIGTERM); err != nil {
			w.log.Warn("stop container", "container", c.Name, "err", err)
		}
		w.poke()
	})
}
