package endpointslice

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func testPod(i int, isReady bool, port int32) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "ns", UID: types.UID(fmt.Sprintf("u%d", i))},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{
			Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)},
	}
	if isReady {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	return p
}

func testService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// applyLocally turns a plan into the new set of slices, naming created
// ones, as the API would.
func applyLocally(existing []*discovery.EndpointSlice, p plan, next *int) []*discovery.EndpointSlice {
	byName := map[string]*discovery.EndpointSlice{}
	var order []string
	for _, s := range existing {
		byName[s.Name] = s
		order = append(order, s.Name)
	}
	for _, s := range p.Create {
		s = s.DeepCopy()
		*next++
		s.Name = fmt.Sprintf("%s%d", s.GenerateName, *next)
		byName[s.Name] = s
		order = append(order, s.Name)
	}
	for _, s := range p.Update {
		byName[s.Name] = s
	}
	for _, s := range p.Delete {
		delete(byName, s.Name)
	}
	var out []*discovery.EndpointSlice
	for _, n := range order {
		if s, ok := byName[n]; ok {
			out = append(out, s)
		}
	}
	return out
}

func TestReconcile(t *testing.T) {
	svc := testService()
	meta := serviceSliceMeta(svc, metav1.Now().Time)
	next := 0
	var pods []*corev1.Pod
	for i := range 250 {
		pods = append(pods, testPod(i, true, 8080))
	}

	// 250 endpoints: three slices of at most 100.
	p := reconcile(nil, desiredFromPods(svc, pods), meta, 100)
	if len(p.Create) != 3 || len(p.Update)+len(p.Delete) != 0 {
		t.Fatalf("plan = %d/%d/%d, want 3 creates", len(p.Create), len(p.Update), len(p.Delete))
	}
	slices := applyLocally(nil, p, &next)
	for _, s := range slices {
		if len(s.Endpoints) > 100 {
			t.Errorf("slice with %d endpoints", len(s.Endpoints))
		}
		if s.Labels[discovery.LabelServiceName] != "web" || s.Labels[discovery.LabelManagedBy] != managedByController || s.Labels["team"] != "a" {
			t.Errorf("labels = %v", s.Labels)
		}
		if s.OwnerReferences[0].UID != "svc-uid" || s.AddressType != discovery.AddressTypeIPv4 || s.GenerateName != "web-" {
			t.Errorf("meta = %+v", s.ObjectMeta)
		}
	}

	// Nothing changed: nothing written.
	if p := reconcile(slices, desiredFromPods(svc, pods), meta, 100); !p.empty() {
		t.Fatalf("steady state plan = %+v", p)
	}

	// One pod turns unready: exactly one slice written.
	pods[7] = testPod(7, false, 8080)
	p = reconcile(slices, desiredFromPods(svc, pods), meta, 100)
	if len(p.Update) != 1 || len(p.Create)+len(p.Delete) != 0 {
		t.Fatalf("readiness flip plan = %d/%d/%d, want one update", len(p.Create), len(p.Update), len(p.Delete))
	}
	slices = applyLocally(slices, p, &next)

	// A new pod fills the slice with room instead of creating one.
	pods = append(pods, testPod(250, true, 8080))
	p = reconcile(slices, desiredFromPods(svc, pods), meta, 100)
	if len(p.Update) != 1 || len(p.Create) != 0 || len(p.Update[0].Endpoints) != 51 {
		t.Fatalf("add plan = %d/%d/%d", len(p.Create), len(p.Update), len(p.Delete))
	}
	slices = applyLocally(slices, p, &next)

	// A pod resolving the named port differently gets a slice of its own.
	pods[0] = testPod(0, true, 9090)
	p = reconcile(slices, desiredFromPods(svc, pods), meta, 100)
	if len(p.Create) != 1 || len(p.Update) != 1 || *p.Create[0].Ports[0].Port != 9090 {
		t.Fatalf("named port plan = %+v", p)
	}
	slices = applyLocally(slices, p, &next)

	// All pods gone: one empty placeholder remains.
	p = reconcile(slices, desiredFromPods(svc, nil), meta, 100)
	slices = applyLocally(slices, p, &next)
	if len(slices) != 1 || len(slices[0].Endpoints) != 0 || len(slices[0].Ports) != 0 {
		t.Fatalf("placeholder: %d slices, first %+v", len(slices), slices[0])
	}
	if p := reconcile(slices, desiredFromPods(svc, nil), meta, 100); !p.empty() {
		t.Fatalf("placeholder steady plan = %+v", p)
	}
}

func TestDesiredFromPodsConditions(t *testing.T) {
	svc := testService()
	term := testPod(1, true, 8080)
	term.DeletionTimestamp = &metav1.Time{}
	noIP := testPod(2, true, 8080)
	noIP.Status.PodIP = ""
	done := testPod(3, true, 8080)
	done.Status.Phase = corev1.PodFailed
	sts := testPod(4, false, 8080)
	sts.Spec.Hostname, sts.Spec.Subdomain = "web-0", "web"
	g := desiredFromPods(svc, []*corev1.Pod{term, noIP, done, sts})
	if len(g) != 1 {
		t.Fatalf("groups = %d", len(g))
	}
	for _, gr := range g {
		if len(gr.Endpoints) != 2 {
			t.Fatalf("endpoints = %+v", gr.Endpoints)
		}
		e := gr.Endpoints[0]
		if *e.Conditions.Ready || !*e.Conditions.Serving || !*e.Conditions.Terminating {
			t.Errorf("terminating pod conditions = %+v, want ready=false serving=true terminating=true", e.Conditions)
		}
		e = gr.Endpoints[1]
		if *e.Conditions.Ready || *e.Conditions.Serving || *e.Conditions.Terminating || deref(e.Hostname) != "web-0" || deref(e.NodeName) != "n1" {
			t.Errorf("unready pod endpoint = %+v", e)
		}
		if deref(gr.Ports[0].Name) != "http" || deref(gr.Ports[0].Port) != 8080 || deref(gr.Ports[0].Protocol) != corev1.ProtocolTCP {
			t.Errorf("ports = %+v", gr.Ports)
		}
	}
	svc.Spec.PublishNotReadyAddresses = true
	for _, gr := range desiredFromPods(svc, []*corev1.Pod{term, sts}) {
		for _, e := range gr.Endpoints {
			if !*e.Conditions.Ready {
				t.Errorf("publishNotReadyAddresses: %v not ready", e.Addresses)
			}
		}
	}
}

func TestDesiredFromEndpoints(t *testing.T) {
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{
		Addresses:         []corev1.EndpointAddress{{IP: "127.0.0.1", Hostname: "h"}},
		NotReadyAddresses: []corev1.EndpointAddress{{IP: "127.0.0.2"}, {IP: "fd00::1"}},
		Ports:             []corev1.EndpointPort{{Name: "pg", Port: 5432}},
	}}}
	g := desiredFromEndpoints(ep)
	for _, gr := range g {
		if len(gr.Endpoints) != 2 || !*gr.Endpoints[0].Conditions.Ready || *gr.Endpoints[1].Conditions.Ready || deref(gr.Endpoints[0].Hostname) != "h" {
			t.Errorf("endpoints = %+v", gr.Endpoints)
		}
		if deref(gr.Ports[0].Protocol) != corev1.ProtocolTCP || deref(gr.Ports[0].Port) != 5432 {
			t.Errorf("ports = %+v", gr.Ports)
		}
	}
}
