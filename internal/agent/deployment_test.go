package agent_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/internal/testserver"
)

// A Deployment of three HTTP servers, scheduled by the real scheduler and
// run by the agent, reaches 3/3 ready with three distinct addresses; a
// deleted pod is replaced by one with a new address.
func TestDeploymentOfHTTPServers(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Controllers: []string{"scheduler", "replicaset", "deployment", "garbagecollector"}})
	dir := t.TempDir()
	killLeftovers(t, dir)
	e := &env{srv: srv, client: srv.Client, dir: dir}
	e.agent = startTestAgent(t, srv.Client, dir, nil)
	ctx := context.Background()

	tmpl := workloadPod(t, "web", "http-server", corev1.EnvVar{Name: "PORT", Value: "8090"})
	tmpl.Spec.NodeName = ""
	tmpl.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8090)}},
		PeriodSeconds: 1,
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: tmpl.Spec},
		},
	}
	if _, err := e.client.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	readyIPs := func() map[string]string {
		pods, err := e.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return nil
		}
		out := map[string]string{}
		for _, p := range pods.Items {
			if isReady(&p) && p.DeletionTimestamp == nil {
				out[p.Name] = p.Status.PodIP
			}
		}
		return out
	}
	var ips map[string]string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ips = readyIPs(); len(ips) == 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(ips) != 3 {
		t.Fatalf("ready pods: %v", ips)
	}
	seen := map[string]bool{}
	for name, ip := range ips {
		if seen[ip] {
			t.Fatalf("duplicate address %s", ip)
		}
		seen[ip] = true
		resp, err := http.Get("http://" + ip + ":8090/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), name) {
			t.Errorf("%s answered %q", ip, b)
		}
	}
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		cur, err := e.client.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err == nil && cur.Status.ReadyReplicas == 3 && cur.Status.AvailableReplicas == 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	var victim string
	for name := range ips {
		victim = name
		break
	}
	if err := e.client.CoreV1().Pods("default").Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		now := readyIPs()
		if _, old := now[victim]; !old && len(now) == 3 {
			for name, ip := range now {
				if _, existed := ips[name]; !existed && ip == ips[victim] {
					t.Errorf("replacement %s reuses the address %s at once", name, ip)
				}
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no replacement became ready: %v", readyIPs())
}
