// Command skiffbench measures skiff's control plane: time from start to
// /readyz (embedded etcd included), idle memory, and the latency of
// create/get/update/list with 1k and 10k pods stored, plus memory at 10k
// pods; the Deployment scenarios with fake nodes (-workloads); and, with
// the real node agent and proxy, pod start-up latency and agent memory
// per pod (-startup) and the time from a pod being Ready to traffic
// reaching it through its Service (-traffic). It prints a Markdown report.
//
//	go run ./bench/cmd/skiffbench [-skiff ./skiff] [-pods 10000] [-starts 5] [-workloads 1000] [-startup 100] [-traffic 30]
//
// -pods 0, -starts 0, -workloads 0, -startup 0 and -traffic 0 each skip
// their section. The traffic section builds its pod program from
// ./httpecho, so run the command inside the module.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	// cpuProfile, if set, is where the server's CPU profile of the
	// Deployment scenarios goes (fetched from its /debug/pprof/profile).
	cpuProfile string
	// apiProfile, if set, is where the server's CPU profile of the first
	// second of sequential creates goes.
	apiProfile string
	// timeline: print the Deployment scenario's progress as it goes.
	timeline bool
)

func main() {
	skiff := flag.String("skiff", "", "skiff binary (default: build ./cmd/skiff into a temp dir)")
	maxPods := flag.Int("pods", 10000, "pods stored for the largest measurement (0 skips the API and memory sections; else at least 1000, bounded to 20000)")
	starts := flag.Int("starts", 5, "start-up measurements")
	workloads := flag.Int("workloads", 1000, "replicas of the Deployment scenarios (0 skips them; bounded to 5000)")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write the server's CPU profile during the Deployment scenarios to this file")
	startup := flag.Int("startup", 0, "pods of the start-up latency section, created at 20/s with the real agent (0 skips it; bounded to 1000)")
	flag.StringVar(&apiProfile, "apiprofile", "", "write the server's CPU profile during the first second of sequential creates to this file")
	flag.BoolVar(&timeline, "timeline", false, "print the pods created and bound every 50 ms of the Deployment scenario (to stderr)")
	traffic := flag.Int("traffic", 0, "pods of the Ready-to-traffic section, one at a time (0 skips it; bounded to 200)")
	flag.Parse()
	// The benchmark's own clients (fake nodes and kubelet, watches) share
	// the machine with the server: keep their collector from taking CPU
	// the server could use. The server's own GOGC is left alone (the
	// environment is passed on to it unchanged).
	debug.SetGCPercent(400)
	if *maxPods > 20000 {
		*maxPods = 20000
	}
	if *maxPods > 0 && *maxPods < 1000 {
		*maxPods = 1000
	}
	*workloads = min(*workloads, 5000)
	*startup = min(*startup, 1000)
	*traffic = min(*traffic, 200)
	if err := run(*skiff, *maxPods, *starts, *workloads, *startup, *traffic); err != nil {
		fmt.Fprintln(os.Stderr, "skiffbench:", err)
		os.Exit(1)
	}
}

func run(bin string, maxPods, starts, workloads, startup, traffic int) error {
	tmp, err := os.MkdirTemp("", "skiffbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "skiff")
		build := exec.Command("go", "build", "-o", bin, "./cmd/skiff")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	fmt.Printf("# skiff control-plane benchmark\n\n- date: %s\n- machine: %s, %d CPUs, %s, load average %s\n- Go: %s\n- server: `skiff server --controllers=` (API server and embedded etcd only) unless a section says otherwise\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), cpuModel(), runtime.NumCPU(), memTotal(), loadAvg(), runtime.Version())

	// Start-up: fresh data dir each time, and once more on an existing one.
	var fresh, again []time.Duration
	for i := 0; i < starts; i++ {
		dir := filepath.Join(tmp, fmt.Sprintf("start-%d", i))
		s, d, err := start(bin, dir)
		if err != nil {
			return err
		}
		fresh = append(fresh, d)
		s.stop()
		s, d, err = start(bin, dir)
		if err != nil {
			return err
		}
		again = append(again, d)
		s.stop()
	}
	if starts > 0 {
		fmt.Printf("## Start to /readyz (embedded etcd included)\n\n| data dir | median | max |\n|---|---|---|\n")
		fmt.Printf("| new | %v | %v |\n| existing | %v | %v |\n\n", pct(fresh, 50), pct(fresh, 100), pct(again, 50), pct(again, 100))
	}
	if maxPods > 0 {
		if err := benchAPI(bin, tmp, maxPods); err != nil {
			return err
		}
	}
	if workloads > 0 {
		if err := benchWorkloads(bin, tmp, workloads); err != nil {
			return err
		}
	}
	if startup > 0 {
		if err := benchStartup(bin, tmp, startup); err != nil {
			return err
		}
	}
	if traffic > 0 {
		return benchTraffic(bin, tmp, traffic)
	}
	return nil
}

// benchAPI measures memory and API latency with 1000 and maxPods pods
// stored, on a server without controllers.
func benchAPI(bin, tmp string, maxPods int) error {
	s, _, err := start(bin, filepath.Join(tmp, "main"))
	if err != nil {
		return err
	}
	defer s.stop()
	// Idle: after the server gave back its start-up memory (3 s after
	// ready, see internal/memtrim) and settled.
	time.Sleep(10 * time.Second)
	idleRSS, idleAnon := s.rss()
	fmt.Printf("## Memory\n\nRSS includes the pages of the executable that are mapped (file-backed, shared, reclaimable); anonymous is the process's own memory. Idle is 10 s after ready.\n\n| state | RSS | anonymous |\n|---|---|---|\n| idle after start | %s | %s |\n", mb(idleRSS), mb(idleAnon))

	cs, err := s.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	type row struct {
		stored          int
		create, get, up []time.Duration
		list            time.Duration
	}
	var rows []row
	stored := 0
	targets := []int{1000}
	if maxPods > 1000 {
		targets = append(targets, maxPods)
	}
	for _, target := range targets {
		// Fill up to target-1000 concurrently, then time 1000 sequential
		// operations of each kind.
		if err := fill(ctx, cs, stored, target-1000); err != nil {
			return err
		}
		stored = target - 1000
		var r row
		r.stored = target
		if apiProfile != "" && target == 1000 {
			wait := s.profile(apiProfile, time.Second)
			defer func() {
				if err := wait(); err != nil {
					fmt.Fprintln(os.Stderr, "skiffbench: cpu profile:", err)
				}
			}()
			time.Sleep(100 * time.Millisecond)
		}
		for i := stored; i < target; i++ {
			t0 := time.Now()
			if _, err := cs.CoreV1().Pods("default").Create(ctx, pod(i), metav1.CreateOptions{}); err != nil {
				return err
			}
			r.create = append(r.create, time.Since(t0))
		}
		stored = target
		for i := stored - 1000; i < stored; i++ {
			t0 := time.Now()
			p, err := cs.CoreV1().Pods("default").Get(ctx, podName(i), metav1.GetOptions{})
			if err != nil {
				return err
			}
			r.get = append(r.get, time.Since(t0))
			p.Labels["touched"] = "yes"
			t0 = time.Now()
			if _, err := cs.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
				return err
			}
			r.up = append(r.up, time.Since(t0))
		}
		// List of the whole set, best of 5 (kubectl-style JSON).
		r.list = time.Hour
		for i := 0; i < 5; i++ {
			t0 := time.Now()
			l, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(l.Items) != stored {
				return fmt.Errorf("list returned %d pods, want %d", len(l.Items), stored)
			}
			r.list = min(r.list, time.Since(t0))
		}
		rows = append(rows, r)
		if target == maxPods {
			runtime.GC()
			time.Sleep(2 * time.Second)
			rss, anon := s.rss()
			fmt.Printf("| %d pods stored | %s | %s |\n", stored, mb(rss), mb(anon))
		}
	}
	list3k, err := listSubset(ctx, cs, 3000)
	if err != nil {
		return err
	}
	fmt.Printf("\n## API latency (client-go, protobuf, TLS over loopback, 1000 sequential operations)\n\n")
	fmt.Printf("| pods stored | create p50 | create p99 | get p50 | get p99 | update p50 | update p99 | list all (best of 5) |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Printf("| %d | %v | %v | %v | %v | %v | %v | %v |\n", r.stored, pct(r.create, 50), pct(r.create, 99), pct(r.get, 50), pct(r.get, 99), pct(r.up, 50), pct(r.up, 99), r.list.Round(time.Millisecond/10))
	}
	fmt.Printf("\nList of 3000 pods (one namespace of 3000, best of 5): %v\n", list3k.Round(time.Millisecond/10))
	s.stop()
	return nil
}

// listSubset stores n pods in their own namespace and times listing them.
func listSubset(ctx context.Context, cs kubernetes.Interface, n int) (time.Duration, error) {
	ns := "list3k"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	if err := parallel(ctx, n, func(i int) error {
		p := pod(i)
		p.Namespace = ns
		_, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		return err
	}); err != nil {
		return 0, err
	}
	best := time.Hour
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, err
		}
		if len(l.Items) != n {
			return 0, fmt.Errorf("list3k: %d items", len(l.Items))
		}
		best = min(best, time.Since(t0))
	}
	return best, nil
}

func fill(ctx context.Context, cs kubernetes.Interface, from, to int) error {
	if to <= from {
		return nil
	}
	return parallel(ctx, to-from, func(i int) error {
		_, err := cs.CoreV1().Pods("default").Create(ctx, pod(from+i), metav1.CreateOptions{})
		return err
	})
}

// parallel runs fn(0..n-1) on 16 goroutines and returns the first error.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func podName(i int) string { return fmt.Sprintf("bench-%05d", i) }

// pod is a realistic small pod: what a Deployment of a web server creates.
func pod(i int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName(i), Labels: map[string]string{"app": "bench", "pod-template-hash": "5d8f7c9b4"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "registry.example/web:1.0",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			Env:   []corev1.EnvVar{{Name: "MODE", Value: "bench"}},
		}}},
	}
}

// proc is a running skiff server.
type proc struct {
	cmd *exec.Cmd
	dir string
}

// start runs skiff server on dir and returns once /readyz answers, with
// the time it took.
func start(bin, dir string) (*proc, time.Duration, error) {
	// The API server and etcd alone, as the kube-apiserver
	// figures are: no controllers, scheduler, agent or DNS acting on the
	// benchmark's pods.
	return startWith(bin, dir, "--controllers=")
}

// startWith runs skiff server on dir with extra flags and returns once
// /readyz answers, with the time it took.
func startWith(bin, dir string, extra ...string) (*proc, time.Duration, error) {
	kc := filepath.Join(dir, "kubeconfig")
	os.Remove(kc)
	t0 := time.Now()
	args := append([]string{"server", "--data-dir", dir, "--port", "0", "--log-level", "error"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	p := &proc{cmd: cmd, dir: dir}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(kc); err == nil {
			url := serverURL(string(b))
			if resp, err := hc.Get(url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return p, time.Since(t0).Round(time.Millisecond), nil
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	p.stop()
	return nil, 0, fmt.Errorf("server on %s not ready in 30s", dir)
}

func serverURL(kubeconfig string) string {
	for _, l := range strings.Split(kubeconfig, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(l), "server: "); ok {
			return s
		}
	}
	return ""
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func (p *proc) client() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(p.dir, "kubeconfig"))
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = -1, -1
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	return kubernetes.NewForConfig(cfg)
}

// profile fetches the server's CPU profile over the next d into path;
// the returned function waits for it.
func (p *proc) profile(path string, d time.Duration) (wait func() error) {
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(p.dir, "kubeconfig"))
			if err != nil {
				return err
			}
			rt, err := rest.TransportFor(cfg)
			if err != nil {
				return err
			}
			c := &http.Client{Transport: rt}
			// Allocations before and after, for pprof -base.
			if err := fetch(c, cfg.Host+"/debug/pprof/allocs", path+".allocs0"); err != nil {
				return err
			}
			if err := fetch(c, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", cfg.Host, int(d.Seconds())), path); err != nil {
				return err
			}
			return fetch(c, cfg.Host+"/debug/pprof/allocs", path+".allocs1")
		}()
	}()
	return func() error { return <-done }
}

// fetch saves what url answers into path.
func fetch(c *http.Client, url, path string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rss is the resident memory of the server process and its anonymous
// part, in bytes.
func (p *proc) rss() (rss, anon int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "Rss:":
			rss = kb * 1024
		case "Anonymous:":
			anon = kb * 1024
		}
	}
	return rss, anon
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	d := s[i]
	if d > time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/1e6) }

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return fmt.Sprintf("%.0f GiB RAM", float64(kb)/1024/1024)
		}
	}
	return ""
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
