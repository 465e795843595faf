package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// benchWorkloads times the issue-3 scenarios on a server running the
// controllers and scheduler but no node agent: a Deployment of n replicas
// created until every pod is bound, then a rolling update of it until the
// rollout completes. Two fake nodes stand in for kubelets; the benchmark
// marks their pods Running and Ready as soon as they are bound, as a fast
// kubelet would.
func benchWorkloads(bin, tmp string, n int) error {
	dir := filepath.Join(tmp, "workloads")
	p, _, err := startWith(bin, dir, "--disable-agent", "--controllers=*,-dns")
	if err != nil {
		return err
	}
	defer p.stop()
	// Measure the steady state: after the server gave back its start-up
	// memory (3 s after ready, see internal/memtrim).
	time.Sleep(5 * time.Second)
	cs, err := p.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := 0; i < 2; i++ {
		if err := fakeNode(ctx, cs, fmt.Sprintf("bench-node-%d", i), n); err != nil {
			return err
		}
	}
	var bound, created atomic.Int64
	stopKubelet := fakeKubelet(ctx, cs, &created, &bound)
	defer stopKubelet()

	replicas := int32(n)
	labels := map[string]string{"app": "bench"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1", Command: []string{"sleep", "1000"}}}}},
		},
	}
	if cpuProfile != "" {
		wait := p.profile(cpuProfile, time.Second)
		defer func() {
			if err := wait(); err != nil {
				fmt.Fprintln(os.Stderr, "skiffbench: cpu profile:", err)
			}
		}()
		time.Sleep(100 * time.Millisecond)
	}
	cpu0 := p.cpuTime()
	t0 := time.Now()
	if timeline {
		go func() {
			for created.Load() < int64(n) || bound.Load() < int64(n) {
				time.Sleep(50 * time.Millisecond)
				fmt.Fprintf(os.Stderr, "%6v created %4d bound %4d\n", time.Since(t0).Round(time.Millisecond), created.Load(), bound.Load())
			}
		}()
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool { return created.Load() >= int64(n) }); err != nil {
		return fmt.Errorf("waiting for %d pods created (%d so far): %w", n, created.Load(), err)
	}
	allCreated := time.Since(t0)
	if err := waitFor(ctx, func() bool { return bound.Load() >= int64(n) }); err != nil {
		return fmt.Errorf("waiting for %d pods bound (%d so far): %w", n, bound.Load(), err)
	}
	allBound := time.Since(t0)
	boundCPU := p.cpuTime() - cpu0
	if err := waitRollout(ctx, cs, 1); err != nil {
		return err
	}
	t1 := time.Now()
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example/web:2"}]}}}}`)
	if _, err := cs.AppsV1().Deployments("default").Patch(ctx, "bench", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return err
	}
	if err := waitRollout(ctx, cs, 2); err != nil {
		return err
	}
	rolled := time.Since(t1)
	fmt.Printf("\n## Workloads (`skiff server --disable-agent`, 2 fake nodes, pods marked Ready on binding)\n\n")
	fmt.Printf("| scenario | time |\n|---|---|\n")
	fmt.Printf("| Deployment of %d replicas created until every pod is bound | %v |\n", n, allBound.Round(time.Millisecond))
	fmt.Printf("| — of which: until every pod was created (seen by a watch) | %v |\n", allCreated.Round(time.Millisecond))
	fmt.Printf("| — server CPU time (user + system) until every pod was bound | %v |\n", boundCPU)
	fmt.Printf("| rolling update of the %d replicas (25%% surge, 25%% unavailable) until complete | %v |\n", n, rolled.Round(time.Millisecond))
	return nil
}

// fakeNode registers a Ready node with room for pods pods.
func fakeNode(ctx context.Context, cs kubernetes.Interface, name string, pods int) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	node, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	room := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("1000"), corev1.ResourceMemory: resource.MustParse("1Ti"),
		corev1.ResourcePods: *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	node.Status = corev1.NodeStatus{Capacity: room, Allocatable: room,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), Reason: "KubeletReady"}}}
	_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

// fakeKubelet marks every bound pod Running and Ready (and finishes the
// graceful deletion of deleted ones), counting pods seen and bound.
func fakeKubelet(ctx context.Context, cs kubernetes.Interface, created, bound *atomic.Int64) func() {
	ctx, cancel := context.WithCancel(ctx)
	f := informers.NewSharedInformerFactory(cs, 0)
	work := make(chan *corev1.Pod, 4096)
	seen, seenBound := sync.Map{}, sync.Map{}
	handle := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		if _, dup := seen.LoadOrStore(pod.UID, true); !dup {
			created.Add(1)
		}
		if pod.Spec.NodeName == "" {
			return
		}
		if _, dup := seenBound.LoadOrStore(pod.UID, true); !dup {
			bound.Add(1)
		}
		if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
			select {
			case work <- pod:
			case <-ctx.Done():
			}
		}
	}
	_, _ = f.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: handle, UpdateFunc: func(_, o any) { handle(o) },
	})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case pod := <-work:
					if pod.DeletionTimestamp != nil {
						zero := int64(0)
						_ = cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}})
						continue
					}
					p := pod.DeepCopy()
					now := metav1.Now()
					p.Status.Phase = corev1.PodRunning
					p.Status.PodIP = "127.200.0.1"
					p.Status.StartTime = &now
					p.Status.Conditions = []corev1.PodCondition{
						{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
						{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
						{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
					}
					_, _ = cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
				}
			}
		})
	}
	f.Start(ctx.Done())
	return func() { cancel(); f.Shutdown(); wg.Wait() }
}

// waitRollout waits until the bench Deployment has rolled out generation
// gen completely.
func waitRollout(ctx context.Context, cs kubernetes.Interface, gen int64) error {
	var last string
	err := waitFor(ctx, func() bool {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "bench", metav1.GetOptions{})
		if err != nil {
			return false
		}
		st := d.Status
		last = fmt.Sprintf("generation %d/%d updated %d available %d replicas %d", st.ObservedGeneration, d.Generation, st.UpdatedReplicas, st.AvailableReplicas, st.Replicas)
		return d.Generation == gen && st.ObservedGeneration >= gen && st.UpdatedReplicas == *d.Spec.Replicas &&
			st.AvailableReplicas == *d.Spec.Replicas && st.Replicas == *d.Spec.Replicas
	})
	if err != nil {
		return fmt.Errorf("rollout of generation %d: %w (%s)", gen, err, last)
	}
	return nil
}

func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// cpuTime is the CPU time (user and system) the server used so far.
func (p *proc) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which may hold spaces: state is
	// the first, utime and stime the 12th and 13th (in clock ticks,
	// 100 per second on Linux).
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
