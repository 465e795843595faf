package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"sync"

	"github.com/skiff-dev/skiff/internal/agent/runtime"
	"github.com/skiff-dev/skiff/internal/agent/volume"
)

// runningTimeForBackoffReset: a container that ran this long restarts
// without delay, as with the kubelet.
const runningTimeForBackoffReset = 10 * time.Minute

// idleResync is how often an idle worker looks at its pod anyway (status
// writes that failed are retried then).
const idleResync = time.Minute

// Waiting reasons, as the kubelet reports them.
const (
	reasonContainerCreating = "ContainerCreating"
	reasonPodInitializing   = "PodInitializing"
	reasonCrashLoopBackOff  = "CrashLoopBackOff"
	reasonConfigError       = "CreateContainerConfigError"
	reasonStartError        = "StartError"
	reasonStatusUnknown     = "ContainerStatusUnknown"
	reasonOOMKilled         = "OOMKilled"
)

// podWorker owns one pod: it starts, watches, restarts and stops its
// containers and writes its status. One goroutine (run) does all of it;
// process exits and probe results only wake it.
type podWorker struct {
	a    *Agent
	uid  types.UID
	log  *slog.Logger
	wake chan struct{}

	// pmu guards pod, gone and volDirty, which the informer handlers
	// set.
	pmu  sync.Mutex
	pod  *corev1.Pod
	gone bool
	// volDirty asks the next pass to refresh the volumes.
	volDirty bool

	// mu guards st (and the ctrState in it) and the fields below; run
	// holds it while it syncs.
	mu       sync.Mutex
	st       *podState
	adopted  bool
	termSent bool
	killAt   time.Time
	// drainStart and drainedAt time the wait for the pod to leave its
	// services' endpoints before SIGTERM (drain.go).
	drainStart, drainedAt time.Time
	stopped               bool // processes stopped for good (terminal phase)
	// volPaths maps the pod's volumes to their host paths once they are
	// set up (nil before).
	volPaths map[string]string
	// lastEvent de-duplicates warning events per container.
	lastEvent map[string]string
	ctx       context.Context
}

func newPodWorker(a *Agent, pod *corev1.Pod, st *podState) *podWorker {
	if st == nil {
		st = &podState{UID: pod.UID, Namespace: pod.Namespace, Name: pod.Name, Containers: map[string]*ctrState{}}
	}
	return &podWorker{
		a:         a,
		uid:       pod.UID,
		log:       a.log.With("pod", pod.Namespace+"/"+pod.Name),
		wake:      make(chan struct{}, 1),
		pod:       pod,
		st:        st,
		lastEvent: map[string]string{},
	}
}

func (w *podWorker) update(pod *corev1.Pod) {
	w.pmu.Lock()
	// Labels and annotations feed downwardAPI volumes.
	w.volDirty = w.volDirty || w.pod == nil || !maps.Equal(w.pod.Labels, pod.Labels) || !maps.Equal(w.pod.Annotations, pod.Annotations)
	w.pod = pod
	w.pmu.Unlock()
	w.poke()
}

func (w *podWorker) markGone() {
	w.pmu.Lock()
	w.gone = true
	w.pmu.Unlock()
	w.poke()
}

func (w *podWorker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *podWorker) run(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, done := w.sync(ctx)
		if done {
			return
		}
		if next <= 0 || next > idleResync {
			next = idleResync
		}
		timer.Reset(next)
		select {
		case <-ctx.Done():
			w.shutdown()
			return
		case <-w.wake:
		case <-timer.C:
		}
		if ctx.Err() != nil {
			w.shutdown()
			return
		}
	}
}

// shutdown runs when the agent stops: it leaves the processes running
// for the next agent, or stops them with StopPodsOnExit.
func (w *podWorker) shutdown() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pmu.Lock()
	pod := w.pod
	w.pmu.Unlock()
	for _, cs := range w.st.Containers {
		cs.stopProbes()
	}
	if w.a.cfg.StopPodsOnExit {
		grace := gracePeriod(pod, false)
		w.stopAll(grace)
		w.collectExits()
	}
	for _, cs := range w.st.Containers {
		if cs.proc != nil {
			cs.proc.Detach()
			cs.proc = nil
		}
	}
	if err := w.a.saveState(w.st); err != nil {
		w.log.Error("save pod state", "err", err)
	}
}

// stopAll signals every running container group with SIGTERM and waits
// up to grace before SIGKILL. Used only at shutdown.
func (w *podWorker) stopAll(grace time.Duration) {
	var procs []*runtime.Process
	for _, cs := range w.st.Containers {
		if cs.proc != nil {
			procs = append(procs, cs.proc)
			cs.proc.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.After(grace)
	for _, p := range procs {
		select {
		case <-p.Done():
		case <-deadline:
			for _, p := range procs {
				p.Signal(syscall.SIGKILL)
			}
			<-p.Done()
		}
	}
}

func gracePeriod(pod *corev1.Pod, gone bool) time.Duration {
	if gone || pod == nil {
		// Force deletion: the kubelet's minimum grace.
		return 2 * time.Second
	}
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return corev1.DefaultTerminationGracePeriodSeconds * time.Second
}

// sync does one pass over the pod. next is when it wants to run again
// (0: only when woken); done ends the worker.
func (w *podWorker) sync(ctx context.Context) (next time.Duration, done bool) {
	w.pmu.Lock()
	pod, gone := w.pod, w.gone
	w.pmu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.adopted {
		if !gone && pod.DeletionTimestamp == nil && len(w.st.Containers) > 0 {
			// Adopted containers' exec probes and hooks need to know
			// where their volumes are; errors are retried below.
			_ = w.ensureVolumes(ctx, pod)
		}
		w.adopt(pod)
		w.adopted = true
	}
	w.collectExits()
	if gone || pod.DeletionTimestamp != nil {
		return w.syncTerminating(ctx, pod, gone)
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		w.stopForGood()
		return 0, false
	}
	now := time.Now()
	if err := w.ensureSandbox(pod, now); err != nil {
		w.warn(pod, "", "FailedCreatePodSandBox", err.Error())
		return time.Second, false
	}
	if err := w.ensureVolumes(ctx, pod); err != nil {
		// Running containers go on; nothing (re)starts until the
		// volumes are there, as with the kubelet.
		w.warn(pod, "", "FailedMount", err.Error())
		next = 2 * time.Second
	} else {
		next = w.startContainers(ctx, pod, now)
	}
	status := w.buildStatus(pod, false, time.Now())
	if status.Phase == corev1.PodSucceeded || status.Phase == corev1.PodFailed {
		w.stopForGood()
	}
	if err := w.writeStatus(ctx, pod, status); err != nil {
		if ctx.Err() == nil {
			w.log.Warn("write pod status", "err", err)
		}
		if next == 0 || next > time.Second {
			next = time.Second
		}
	}
	return next, false
}

// ensureSandbox gives the pod its address and start time.
func (w *podWorker) ensureSandbox(pod *corev1.Pod, now time.Time) error {
	changed := false
	if w.st.IP == "" {
		ip, err := w.a.ips.Allocate(string(pod.UID))
		if err != nil {
			return fmt.Errorf("allocate pod address: %w", err)
		}
		w.st.IP = ip.String()
		changed = true
	}
	if w.st.StartTime.IsZero() {
		w.st.StartTime = now
		if pod.Status.StartTime != nil {
			w.st.StartTime = pod.Status.StartTime.Time
		}
		changed = true
	}
	if changed {
		return w.a.saveState(w.st)
	}
	return nil
}

// stopForGood kills what still runs of a pod that reached a terminal
// phase and frees its address.
func (w *podWorker) stopForGood() {
	if w.stopped {
		return
	}
	for _, cs := range w.st.Containers {
		cs.stopProbes()
		if cs.proc != nil {
			cs.proc.Signal(syscall.SIGKILL)
		}
	}
	if err := w.a.ips.Release(string(w.uid)); err != nil {
		w.log.Warn("release pod address", "err", err)
		return
	}
	w.stopped = true
}

func (w *podWorker) ctr(name string) *ctrState {
	cs := w.st.Containers[name]
	if cs == nil {
		cs = &ctrState{}
		w.st.Containers[name] = cs
	}
	return cs
}

// startContainers runs init containers in order, then the containers,
// restarting exited ones as the restart policy says.
func (w *podWorker) startContainers(ctx context.Context, pod *corev1.Pod, now time.Time) time.Duration {
	var next time.Duration
	soonest := func(d time.Duration) {
		if d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	policy := pod.Spec.RestartPolicy
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := w.ctr(c.Name)
		if cs.Run != nil && !cs.Run.Running && cs.Run.ExitCode == 0 {
			continue
		}
		if cs.Run != nil && cs.Run.Running {
			return next
		}
		if cs.Run != nil && policy == corev1.RestartPolicyNever {
			return next // failed: the pod fails
		}
		soonest(w.startOrRestart(ctx, pod, c, cs, now))
		return next
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := w.ctr(c.Name)
		if cs.Run != nil && cs.Run.Running {
			continue
		}
		if cs.Run != nil && !shouldRestart(policy, cs.Run.ExitCode) {
			continue
		}
		soonest(w.startOrRestart(ctx, pod, c, cs, now))
	}
	return next
}

func shouldRestart(policy corev1.RestartPolicy, exitCode int32) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// restartAt is when an exited container may start again.
func (cs *ctrState) restartAt() time.Time {
	if cs.Run == nil || cs.Run.Running {
		return time.Time{}
	}
	return cs.Run.FinishedAt.Add(cs.BackoffDelay)
}

// nextBackoff doubles the restart delay: 0, base, 2·base, … max.
func nextBackoff(cur, base, maxDelay time.Duration) time.Duration {
	if cur <= 0 {
		return base
	}
	if cur*2 > maxDelay {
		return maxDelay
	}
	return cur * 2
}

// startOrRestart starts c unless it must wait (backoff, a config error
// retry); it returns how long until it may try.
func (w *podWorker) startOrRestart(ctx context.Context, pod *corev1.Pod, c *corev1.Container, cs *ctrState, now time.Time) time.Duration {
	if cs.WaitReason != "" && now.Before(cs.RetryAt) {
		return cs.RetryAt.Sub(now)
	}
	if at := cs.restartAt(); cs.Run != nil && now.Before(at) {
		return at.Sub(now)
	}
	w.startContainer(ctx, pod, c, cs, now)
	if cs.WaitReason != "" {
		return cs.RetryAt.Sub(now)
	}
	if cs.Run != nil && !cs.Run.Running {
		// Failed to start: retry after the backoff.
		return max(cs.restartAt().Sub(now), time.Millisecond)
	}
	return 0
}

func (w *podWorker) startContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, cs *ctrState, now time.Time) {
	path, args, env, err := w.resolve(ctx, pod, c)
	if err == nil {
		err = w.a.checkNonRoot(pod, c)
	}
	if err != nil {
		cs.WaitReason, cs.WaitMessage = reasonConfigError, err.Error()
		var ce *configError
		if errors.As(err, &ce) {
			cs.RetryAt = now.Add(w.a.cfg.BackoffBase)
		} else {
			cs.RetryAt = now.Add(time.Second)
		}
		w.warn(pod, c.Name, "Failed", "Error: "+err.Error())
		w.save()
		return
	}
	cs.WaitReason, cs.WaitMessage, cs.RetryAt = "", "", time.Time{}
	attempt := int32(0)
	if cs.Run != nil {
		cs.RestartCount++
		attempt = cs.RestartCount
		cs.BackoffDelay = nextBackoff(cs.BackoffDelay, w.a.cfg.BackoffBase, w.a.cfg.BackoffMax)
		cs.Last = cs.Run
	}
	dir := "/"
	if c.WorkingDir != "" {
		dir = c.WorkingDir
	}
	spec := w.runSpec(pod, c.Name, attempt)
	spec.Path, spec.Args, spec.Env, spec.Dir = path, args, env, dir
	// kubectl attach -i/-t: see attach.go.
	spec.Stdin, spec.StdinOnce, spec.TTY = c.Stdin, c.StdinOnce, c.TTY
	spec.Mounts = w.containerMounts(pod, c)
	cred, ignored := w.a.credential(pod, c)
	if ignored != "" {
		w.warn(pod, c.Name, reasonRunAsIgnored, ignored)
	}
	spec.Credential = cred
	if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o700); err != nil {
		w.log.Error("container dir", "err", err)
	}
	var proc *runtime.Process
	if !strings.Contains(path, "/") {
		err = fmt.Errorf("exec: %q: executable file not found in $PATH", path)
	} else if spec.CgroupProcs, err = w.a.containerCgroup(w.uid, c); err != nil {
		err = fmt.Errorf("cgroup: %w", err)
	} else {
		proc, err = runtime.Start(spec)
	}
	cs.Path = path
	cs.Ready, cs.Started = false, false
	if err != nil {
		cs.Run = &runRecord{Attempt: attempt, StartedAt: now, FinishedAt: now, ExitCode: 128, Reason: reasonStartError, Message: err.Error()}
		w.warn(pod, c.Name, "Failed", "Error: "+err.Error())
		w.save()
		return
	}
	cs.Run = &runRecord{Attempt: attempt, PID: proc.PID, Ticks: proc.StartTicks, StartedAt: proc.StartedAt, Running: true}
	cs.proc = proc
	w.watch(proc)
	w.event(pod, c.Name, corev1.EventTypeNormal, "Started", fmt.Sprintf("Started container %s", c.Name))
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		w.startPostStart(pod, c, cs, attempt)
	} else {
		w.startProbes(pod, c, cs, attempt)
	}
	w.save()
}

func (w *podWorker) runSpec(pod *corev1.Pod, container string, attempt int32) runtime.Spec {
	ns, name := w.st.Namespace, w.st.Name
	return runtime.Spec{
		LogPath:     w.a.logPath(ns, name, w.uid, container, attempt),
		LogRotation: runtime.Rotation{MaxSize: w.a.cfg.ContainerLogMaxSize, MaxFiles: w.a.cfg.ContainerLogMaxFiles},
		PipeDir:     w.a.pipeDir(ns, name, w.uid, container, attempt),
	}
}

// watch wakes the worker when proc exits.
func (w *podWorker) watch(proc *runtime.Process) {
	ctx := w.ctx
	w.a.workersWG.Go(func() {
		select {
		case <-proc.Done():
			w.poke()
		case <-ctx.Done():
		}
	})
}

func (w *podWorker) save() {
	if err := w.a.saveState(w.st); err != nil {
		w.log.Error("save pod state", "err", err)
	}
}

// collectExits records the exits of processes that ended.
func (w *podWorker) collectExits() {
	changed := false
	for name, cs := range w.st.Containers {
		if cs.proc == nil {
			continue
		}
		select {
		case <-cs.proc.Done():
		default:
			continue
		}
		e := cs.proc.Exit()
		cs.proc = nil
		cs.stopProbes()
		r := cs.Run
		r.Running, r.FinishedAt = false, e.At
		switch {
		case (!e.Known || e.Code != 0) && w.a.oomKilled(w.uid, name, e.Signal):
			r.ExitCode, r.Reason, r.Signal = 137, reasonOOMKilled, int32(syscall.SIGKILL)
		case !e.Known:
			r.ExitCode, r.Reason = 137, reasonStatusUnknown
			r.Message = "The agent restarted while the container ran; its exit status is unknown"
		case e.Code == 0:
			r.ExitCode, r.Reason = 0, "Completed"
		default:
			r.ExitCode, r.Reason = int32(e.Code), "Error"
			r.Signal = int32(e.Signal)
		}
		if r.FinishedAt.Sub(r.StartedAt) >= runningTimeForBackoffReset {
			cs.BackoffDelay = 0
		}
		cs.Ready, cs.Started = false, false
		changed = true
	}
	if changed {
		w.save()
	}
}

// adopt re-attaches to the processes an earlier agent left running.
func (w *podWorker) adopt(pod *corev1.Pod) {
	changed := false
	for name, cs := range w.st.Containers {
		if cs.Run == nil || !cs.Run.Running || cs.proc != nil {
			continue
		}
		spec := w.runSpec(pod, name, cs.Run.Attempt)
		proc, err := runtime.Adopt(cs.Run.PID, cs.Run.Ticks, cs.Run.StartedAt, spec)
		if err != nil {
			cs.Run.Running, cs.Run.FinishedAt = false, time.Now()
			cs.Run.ExitCode, cs.Run.Reason = 137, reasonStatusUnknown
			cs.Run.Message = "The container ended while the agent was not running; its exit status is unknown"
			if w.a.oomKilled(w.uid, name, 0) {
				cs.Run.Reason, cs.Run.Message, cs.Run.Signal = reasonOOMKilled, "", int32(syscall.SIGKILL)
			}
			cs.Ready, cs.Started = false, false
			changed = true
			continue
		}
		w.log.Info("adopted running container", "container", name, "pid", proc.PID)
		cs.proc = proc
		w.watch(proc)
		if c := findContainer(pod, name); c != nil && !w.gone && pod.DeletionTimestamp == nil {
			w.startProbes(pod, c, cs, cs.Run.Attempt)
		}
	}
	if changed {
		w.save()
	}
}

func hookContainer(pod *corev1.Pod, name string) *corev1.Container {
	if pod == nil {
		return nil
	}
	return findContainer(pod, name)
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// syncTerminating stops a pod that is being deleted (or is gone): SIGTERM,
// SIGKILL after the grace period, then the final status and the DELETE
// with grace 0 that removes the pod, as the kubelet does.
func (w *podWorker) syncTerminating(ctx context.Context, pod *corev1.Pod, gone bool) (time.Duration, bool) {
	now := time.Now()
	var running []*runtime.Process
	for _, cs := range w.st.Containers {
		if cs.proc != nil {
			running = append(running, cs.proc)
		}
	}
	if len(running) > 0 {
		if !w.termSent && !gone {
			if wait := w.drainWait(pod, now); wait > 0 {
				return wait, false
			}
		}
		if !w.termSent {
			w.termSent = true
			w.killAt = now.Add(gracePeriod(pod, gone))
			for name, cs := range w.st.Containers {
				cs.stopProbes()
				if cs.proc != nil {
					if !gone {
						w.event(pod, name, corev1.EventTypeNormal, "Killing", fmt.Sprintf("Stopping container %s", name))
					}
					if c := hookContainer(pod, name); c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
						// SIGTERM follows the hook.
						w.startPreStop(pod, c, cs.proc)
						continue
					}
					if err := cs.proc.Signal(syscall.SIGTERM); err != nil {
						w.log.Warn("stop container", "container", name, "err", err)
					}
				}
			}
		}
		if !now.Before(w.killAt) {
			for _, p := range running {
				p.Signal(syscall.SIGKILL)
			}
			return time.Second, false
		}
		return w.killAt.Sub(now), false
	}
	if !gone {
		status := w.buildStatus(pod, true, now)
		if err := w.writeStatus(ctx, pod, status); err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			w.log.Warn("write final pod status", "err", err)
		}
		err := w.a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To(int64(0)),
			Preconditions:      &metav1.Preconditions{UID: &w.uid},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			if ctx.Err() == nil {
				w.log.Warn("delete pod", "err", err)
			}
			return time.Second, false
		}
	}
	if err := w.a.ips.Release(string(w.uid)); err != nil {
		w.log.Warn("release pod address", "err", err)
		return time.Second, false
	}
	if err := volume.UnmountAll(w.a.volumesDir(w.st)); err != nil {
		w.log.Warn("unmount pod volumes", "err", err)
		return time.Second, false
	}
	if err := w.a.removeCgroups(w.uid); err != nil {
		w.log.Warn("remove pod cgroups", "err", err)
		return time.Second, false
	}
	if err := os.RemoveAll(w.a.podDir(w.st.Namespace, w.st.Name, w.uid)); err != nil {
		w.log.Warn("remove pod dir", "err", err)
	}
	w.log.Debug("pod stopped and removed")
	return 0, true
}

// warn records a Warning event once per container and message.
func (w *podWorker) warn(pod *corev1.Pod, container, reason, msg string) {
	key := reason + "\x00" + msg
	if w.lastEvent[container] == key {
		return
	}
	w.lastEvent[container] = key
	w.event(pod, container, corev1.EventTypeWarning, reason, msg)
}

func (w *podWorker) event(pod *corev1.Pod, container, typ, reason, msg string) {
	if pod == nil || pod.Name == "" {
		return
	}
	ref := &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion}
	if container != "" {
		ref.FieldPath = fmt.Sprintf("spec.containers{%s}", container)
		for _, c := range pod.Spec.InitContainers {
			if c.Name == container {
				ref.FieldPath = fmt.Sprintf("spec.initContainers{%s}", container)
			}
		}
	}
	w.a.recorder.Event(ref, typ, reason, msg)
}

// imageName strips a digest and a tag from an image reference.
func imageName(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return image
}
