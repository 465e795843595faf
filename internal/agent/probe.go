package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-dev/skiff/internal/agent/runtime"
)

type probeKind string

const (
	probeStartup   probeKind = "Startup"
	probeReadiness probeKind = "Readiness"
	probeLiveness  probeKind = "Liveness"
)

// probeSet is the probe goroutines of one run of a container.
type probeSet struct {
	cancel context.CancelFunc
}

// stopProbes stops the run's probes and its postStart hook.
func (cs *ctrState) stopProbes() {
	if cs.probes != nil {
		cs.probes.cancel()
		cs.probes = nil
	}
	if cs.hookCancel != nil {
		cs.hookCancel()
		cs.hookCancel = nil
	}
	cs.postStarting = false
}

// startProbes starts the probes of a run that just started (or was
// adopted; then the recorded Started and Ready stand until a probe says
// otherwise). Called with w.mu held.
func (w *podWorker) startProbes(pod *corev1.Pod, c *corev1.Container, cs *ctrState, attempt int32) {
	cs.stopProbes()
	if c.StartupProbe == nil {
		cs.Started = true
	}
	if c.ReadinessProbe == nil {
		cs.Ready = cs.Started
	}
	ctx, cancel := context.WithCancel(w.ctx)
	ps := &probeSet{cancel: cancel}
	cs.probes = ps
	target := probeTarget{podIP: w.st.IP, container: c}
	if c.ReadinessProbe != nil || c.LivenessProbe != nil || c.StartupProbe != nil {
		target = w.execTarget(ctx, pod, c)
	}
	start := cs.Run.StartedAt
	grace := gracePeriod(pod, false)
	if c.StartupProbe != nil && !cs.Started {
		w.a.workersWG.Go(func() { w.runProbe(ctx, probeStartup, c.StartupProbe, c.Name, attempt, start, target, grace) })
	}
	if c.ReadinessProbe != nil {
		w.a.workersWG.Go(func() { w.runProbe(ctx, probeReadiness, c.ReadinessProbe, c.Name, attempt, start, target, grace) })
	}
	if c.LivenessProbe != nil {
		w.a.workersWG.Go(func() { w.runProbe(ctx, probeLiveness, c.LivenessProbe, c.Name, attempt, start, target, grace) })
	}
}

type probeTarget struct {
	podIP     string
	container *corev1.Container
	env       []string
	mounts    []runtime.Mount     // the container's, with Config.PrivateMounts
	cred      *syscall.Credential // the container's user, nil for the agent's
}

// execTarget is what exec probes and hooks of c need to run as the
// container runs: its environment, mounts and user.
func (w *podWorker) execTarget(ctx context.Context, pod *corev1.Pod, c *corev1.Container) probeTarget {
	t := probeTarget{podIP: w.st.IP, container: c}
	if _, _, env, err := w.resolve(ctx, pod, c); err == nil {
		t.env = env
	}
	t.mounts = w.containerMounts(pod, c)
	t.cred, _ = w.a.credential(pod, c)
	return t
}

// probeUserAgent is the kubelet's for probes (kube-probe/MAJOR.MINOR).
const probeUserAgent = "kube-probe/1.37"

// runProbe runs one probe of one run until ctx ends, applying its
// thresholds and reporting changes to the worker.
func (w *podWorker) runProbe(ctx context.Context, kind probeKind, p *corev1.Probe, name string, attempt int32, start time.Time, target probeTarget, grace time.Duration) {
	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	successThreshold := max(p.SuccessThreshold, 1)
	failureThreshold := max(p.FailureThreshold, 1)
	if p.TerminationGracePeriodSeconds != nil && kind != probeReadiness {
		grace = time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	if !sleepCtx(ctx, time.Until(start.Add(time.Duration(p.InitialDelaySeconds)*time.Second))) {
		return
	}
	var successes, failures int32
	for {
		if kind == probeStartup || w.started(name, attempt) {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			ok, msg := runProbeOnce(pctx, p, target)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if ok {
				successes, failures = successes+1, 0
			} else {
				successes, failures = 0, failures+1
				w.probeEvent(name, kind, msg)
			}
			switch {
			case ok && successes >= successThreshold:
				if kind == probeStartup {
					w.probeResult(name, attempt, kind, true)
					return
				}
				w.probeResult(name, attempt, kind, true)
			case !ok && failures >= failureThreshold:
				w.probeResult(name, attempt, kind, false)
				if kind != probeReadiness {
					w.killForProbe(ctx, name, attempt, kind, grace)
					return
				}
			}
		}
		if !sleepCtx(ctx, period) {
			return
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (w *podWorker) started(name string, attempt int32) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	cs := w.st.Containers[name]
	return cs != nil && cs.Run != nil && cs.Run.Attempt == attempt && cs.Started
}

// probeResult records a probe's verdict for the run and wakes the worker
// when it changes the container's state.
func (w *podWorker) probeResult(name string, attempt int32, kind probeKind, ok bool) {
	w.mu.Lock()
	cs := w.st.Containers[name]
	if cs == nil || cs.Run == nil || cs.Run.Attempt != attempt || !cs.Run.Running {
		w.mu.Unlock()
		return
	}
	changed := false
	switch kind {
	case probeStartup:
		if ok && !cs.Started {
			cs.Started, changed = true, true
			c := findContainer(w.podSnapshot(), name)
			if c != nil && c.ReadinessProbe == nil {
				cs.Ready = true
			}
		}
	case probeReadiness:
		if cs.Ready != ok {
			cs.Ready, changed = ok, true
		}
	}
	if changed {
		w.save()
	}
	w.mu.Unlock()
	if changed {
		w.poke()
	}
}

func (w *podWorker) podSnapshot() *corev1.Pod {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	return w.pod
}

func (w *podWorker) probeEvent(name string, kind probeKind, msg string) {
	pod := w.podSnapshot()
	w.event(pod, name, corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %s", kind, msg))
}

// killForProbe stops a run whose liveness or startup probe failed; the
// worker then restarts it as the restart policy says.
func (w *podWorker) killForProbe(ctx context.Context, name string, attempt int32, kind probeKind, grace time.Duration) {
	w.mu.Lock()
	cs := w.st.Containers[name]
	if cs == nil || cs.Run == nil || cs.Run.Attempt != attempt || cs.proc == nil {
		w.mu.Unlock()
		return
	}
	proc := cs.proc
	pod := w.podSnapshot()
	c := hookContainer(pod, name)
	var target probeTarget
	if c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		target = w.execTarget(ctx, pod, c)
	}
	w.mu.Unlock()
	w.event(pod, name, corev1.EventTypeNormal, "Killing", fmt.Sprintf("Container %s failed %s probe, will be restarted", name, map[probeKind]string{probeLiveness: "liveness", probeStartup: "startup"}[kind]))
	if target.container != nil {
		grace = w.preStopBeforeKill(ctx, pod, c, proc, target, grace)
	}
	proc.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-proc.Done():
	case <-t.C:
		proc.Signal(syscall.SIGKILL)
	case <-ctx.Done():
		// The run ended otherwise (or the agent stops); make sure the
		// SIGTERM is followed through if the process still runs.
		select {
		case <-proc.Done():
		case <-t.C:
			proc.Signal(syscall.SIGKILL)
		}
	}
}

// runProbeOnce runs one check: ok and, when not ok, why.
func runProbeOnce(ctx context.Context, p *corev1.Probe, t probeTarget) (bool, string) {
	switch {
	case p.HTTPGet != nil:
		return probeHTTP(ctx, p.HTTPGet, t)
	case p.TCPSocket != nil:
		host := p.TCPSocket.Host
		if host == "" {
			host = t.podIP
		}
		port, err := resolvePort(p.TCPSocket.Port, t.container)
		if err != nil {
			return false, err.Error()
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	case p.Exec != nil:
		if len(p.Exec.Command) == 0 {
			return false, "exec probe has no command"
		}
		out, err := runExec(ctx, p.Exec.Command, t)
		if ctx.Err() != nil {
			return false, "command timed out"
		}
		if err != nil {
			return false, fmt.Sprintf("%v: %s", err, truncate(out, 1024))
		}
		return true, ""
	case p.GRPC != nil:
		return probeGRPC(ctx, p.GRPC, t.podIP)
	}
	return true, ""
}

// runExec runs argv as a command "in" the container: with its
// environment, working directory, user and (PrivateMounts) mount view.
func runExec(ctx context.Context, argv []string, t probeTarget) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = t.env
	if t.container.WorkingDir != "" {
		cmd.Dir = t.container.WorkingDir
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: t.cred}
	if err := runtime.WithMounts(cmd, t.mounts); err != nil {
		return nil, err
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd.CombinedOutput()
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

func probeHTTP(ctx context.Context, g *corev1.HTTPGetAction, t probeTarget) (bool, string) {
	host := g.Host
	if host == "" {
		host = t.podIP
	}
	port, err := resolvePort(g.Port, t.container)
	if err != nil {
		return false, err.Error()
	}
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	path := g.Path
	if path == "" {
		path = "/"
	}
	ref, err := url.Parse(path)
	if err != nil {
		return false, err.Error()
	}
	u = u.ResolveReference(ref)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", probeUserAgent)
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if h.Name == "Host" {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
		// A redirect counts as success, as with the kubelet for one to
		// another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
}

// resolvePort turns a probe's port (number or container port name) into
// a number.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("couldn't find port %q in container %s", p.StrVal, c.Name)
}
