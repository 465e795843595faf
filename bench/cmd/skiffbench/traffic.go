package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

const (
	trafficService = "echo"
	trafficPort    = 8080
	// pollEvery is the pause between two failed requests, so that the
	// pollers do not take a core from the server they measure.
	pollEvery = time.Millisecond
	// pollFor bounds the wait for one pod's first answer.
	pollFor = 10 * time.Second
)

// benchTraffic measures the time from a pod being Ready to traffic
// reaching it through its Service (issue 5) with the real agent and proxy.
// A ClusterIP Service (port 80 → 8080) starts with no endpoints; n times,
// one pod running httpecho and matching its selector is created, and from
// the moment the benchmark's watch sees it Ready, requests (a new
// connection each) go to the ClusterIP as fast as they fail, until one is
// answered by that pod. Then the pod is deleted and gone before the next.
func benchTraffic(bin, tmp string, n int) error {
	echo := filepath.Join(tmp, "httpecho")
	build := exec.Command("go", "build", "-o", echo, "github.com/skiff-dev/skiff/bench/cmd/skiffbench/httpecho")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build httpecho: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, cs, err := startWithAgent(ctx, bin, filepath.Join(tmp, "traffic"))
	if err != nil {
		return err
	}
	defer p.stop()
	const selector = "app=traffic-bench"
	w, err := newPodWatch(ctx, cs, "default", selector)
	if err != nil {
		return err
	}
	defer w.stop()
	defer deletePods(cs, w, selector)
	slices, stopSlices, err := watchSlices(ctx, cs)
	if err != nil {
		return err
	}
	defer stopSlices()

	svc, err := cs.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: trafficService},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "traffic-bench"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(trafficPort)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	vip := net.JoinHostPort(svc.Spec.ClusterIP, "80")
	// The proxy listens (and resets connections) before the service has
	// endpoints: wait for that, so the first pod does not pay for it.
	if err := waitFor(ctx, func() bool {
		c, err := net.DialTimeout("tcp", vip, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}); err != nil {
		return fmt.Errorf("proxy listener on %s: %w", vip, err)
	}

	var viaSvc, direct, toSlice, toReady []time.Duration
	failed := 0
	for i := range n {
		name := fmt.Sprintf("echo-%03d", i)
		before := time.Now()
		if _, err := cs.CoreV1().Pods("default").Create(ctx, echoPod(name, echo), metav1.CreateOptions{}); err != nil {
			return err
		}
		w.created(name, before, time.Now())
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		err := w.wait(rctx, func(pods map[string]*podTimes) bool { return !pods[name].ready.IsZero() })
		rcancel()
		if err != nil {
			return fmt.Errorf("pod %s not Ready in 30 s", name)
		}
		t := w.get(name)
		var wg sync.WaitGroup
		var svcAt, directAt time.Time
		wg.Go(func() { svcAt = firstAnswer(ctx, vip, name) })
		wg.Go(func() { directAt = firstAnswer(ctx, net.JoinHostPort(t.ip, fmt.Sprint(trafficPort)), name) })
		wg.Wait()
		toReady = append(toReady, t.ready.Sub(t.created))
		if svcAt.IsZero() {
			failed++
		} else {
			viaSvc = append(viaSvc, svcAt.Sub(t.ready))
		}
		if !directAt.IsZero() {
			direct = append(direct, directAt.Sub(t.ready))
		}
		if at, ok := slices.readyAt(t.ip); ok {
			toSlice = append(toSlice, at.Sub(t.ready))
		}
		if err := cs.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		gctx, gcancel := context.WithTimeout(ctx, 30*time.Second)
		err = w.wait(gctx, func(pods map[string]*podTimes) bool { return !pods[name].gone.IsZero() })
		gcancel()
		if err != nil {
			return fmt.Errorf("pod %s not gone in 30 s", name)
		}
	}

	fmt.Printf("\n## Pod Ready to traffic through its Service (`skiff server --stop-pods-on-exit`: default controllers, agent and userspace proxy)\n\n")
	fmt.Printf("A ClusterIP Service (80 → %d) with no endpoints; %d times one pod running an HTTP server that answers with its name is created, and from the moment the benchmark's watch sees it Ready, requests on new connections (%v apart while they fail) go to the ClusterIP until that pod answers. Then the pod is deleted and gone before the next.", trafficPort, n, pollEvery)
	if failed > 0 {
		fmt.Printf(" %d of %d pods never answered through the Service within %v.", failed, n, pollFor)
	}
	fmt.Printf("\n\n")
	fmt.Print(pctHeader)
	fmt.Print(pctRow("**pod Ready seen → first answer through the ClusterIP**", viaSvc))
	fmt.Print(pctRow("pod Ready seen → first answer straight from the pod IP (the program's start)", direct))
	fmt.Print(pctRow("pod Ready seen → EndpointSlice listing it ready seen", toSlice))
	fmt.Print(pctRow("create call → pod Ready seen", toReady))
	return nil
}

// echoPod runs httpecho on its pod IP: no readiness probe, so Ready comes
// when the process has started (possibly before it listens, as for any
// pod without a probe).
func echoPod(name, echo string) *corev1.Pod {
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "traffic-bench"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "echo", Image: "bench/httpecho", Command: []string{echo},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: trafficPort}},
			Env: []corev1.EnvVar{
				{Name: "POD_IP", ValueFrom: field("status.podIP")},
				{Name: "POD_NAME", ValueFrom: field("metadata.name")},
				{Name: "PORT", Value: fmt.Sprint(trafficPort)},
			},
		}}},
	}
}

// firstAnswer sends requests to addr, each on a new connection, until one
// is answered with name, and returns when that answer arrived (zero if
// none did within pollFor).
func firstAnswer(ctx context.Context, addr, name string) time.Time {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 200 * time.Millisecond}
	ctx, cancel := context.WithTimeout(ctx, pollFor)
	defer cancel()
	url := "http://" + addr + "/"
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := hc.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) == name+"\n" {
				return time.Now()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery):
		}
	}
	return time.Time{}
}

// sliceWatch records when the benchmark first saw each address listed as
// a ready endpoint of the benchmark's Service.
type sliceWatch struct {
	mu    sync.Mutex
	ready map[string]time.Time
}

func watchSlices(ctx context.Context, cs kubernetes.Interface) (*sliceWatch, func(), error) {
	sw := &sliceWatch{ready: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(ctx)
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace("default"),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = discoveryv1.LabelServiceName + "=" + trafficService
		}))
	inf := f.Discovery().V1().EndpointSlices().Informer()
	seen := func(obj any) {
		now := time.Now()
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			return
		}
		sw.mu.Lock()
		defer sw.mu.Unlock()
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				if _, ok := sw.ready[a]; !ok {
					sw.ready[a] = now
				}
			}
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: seen, UpdateFunc: func(_, o any) { seen(o) },
	}); err != nil {
		cancel()
		return nil, nil, err
	}
	f.Start(ctx.Done())
	stop := func() { cancel(); f.Shutdown() }
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		stop()
		return nil, nil, fmt.Errorf("endpointslice watch did not sync")
	}
	return sw, stop, nil
}

func (sw *sliceWatch) readyAt(ip string) (time.Time, bool) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	t, ok := sw.ready[ip]
	return t, ok
}
