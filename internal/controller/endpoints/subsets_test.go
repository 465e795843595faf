package endpoints

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type podOpt func(*corev1.Pod)

func ready(p *corev1.Pod) {
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
}
func terminating(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} }
func withPort(name string, n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: name, ContainerPort: n})
	}
}
func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func hostname(h, sub string) podOpt {
	return func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = h, sub }
}

func pod(name, ip string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func addr(name, ip string) corev1.EndpointAddress {
	node := "node-1"
	return corev1.EndpointAddress{IP: ip, NodeName: &node, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: name, UID: types.UID("uid-" + name)}}
}

func service(mod func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: corev1.ServiceSpec{
			Selector:  map[string]string{"app": "web"},
			ClusterIP: "10.96.0.5",
			Ports:     []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	if mod != nil {
		mod(s)
	}
	return s
}

func TestComputeSubsets(t *testing.T) {
	http := []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}
	cases := []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want []corev1.EndpointSubset
	}{
		{
			name: "ready and not ready share the subset, sorted by IP",
			svc:  service(nil),
			pods: []*corev1.Pod{pod("b", "10.0.0.2", ready), pod("a", "10.0.0.1"), pod("c", "10.0.0.3", ready)},
			want: []corev1.EndpointSubset{{
				Addresses:         []corev1.EndpointAddress{addr("b", "10.0.0.2"), addr("c", "10.0.0.3")},
				NotReadyAddresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")},
				Ports:             http,
			}},
		},
		{
			name: "no IP, terminal and terminating pods are skipped",
			svc:  service(nil),
			pods: []*corev1.Pod{pod("a", "", ready), pod("b", "10.0.0.2", ready, phase(corev1.PodSucceeded)), pod("c", "10.0.0.3", ready, terminating), pod("d", "10.0.0.4", ready)},
			want: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("d", "10.0.0.4")}, Ports: http}},
		},
		{
			name: "publishNotReadyAddresses lists everything as ready, terminating too",
			svc:  service(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pods: []*corev1.Pod{pod("a", "10.0.0.1"), pod("c", "10.0.0.3", terminating)},
			want: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1"), addr("c", "10.0.0.3")}, Ports: http}},
		},
		{
			name: "named target port resolved per pod; pods lacking it go to their own subset",
			svc: service(func(s *corev1.Service) {
				s.Spec.Ports = []corev1.ServicePort{
					{Name: "http", Port: 80, TargetPort: intstr.FromString("web")},
					{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090), Protocol: corev1.ProtocolTCP},
				}
			}),
			pods: []*corev1.Pod{pod("a", "10.0.0.1", ready, withPort("web", 8080)), pod("b", "10.0.0.2", ready, withPort("web", 8081)), pod("c", "10.0.0.3", ready)},
			want: []corev1.EndpointSubset{
				{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: "TCP"}, {Name: "metrics", Port: 9090, Protocol: "TCP"}}},
				{Addresses: []corev1.EndpointAddress{addr("b", "10.0.0.2")}, Ports: []corev1.EndpointPort{{Name: "http", Port: 8081, Protocol: "TCP"}, {Name: "metrics", Port: 9090, Protocol: "TCP"}}},
				{Addresses: []corev1.EndpointAddress{addr("c", "10.0.0.3")}, Ports: []corev1.EndpointPort{{Name: "metrics", Port: 9090, Protocol: "TCP"}}},
			},
		},
		{
			name: "unset target port means the service port",
			svc: service(func(s *corev1.Service) {
				s.Spec.Ports = []corev1.ServicePort{{Port: 53, Protocol: corev1.ProtocolUDP}}
			}),
			pods: []*corev1.Pod{pod("a", "10.0.0.1", ready)},
			want: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{{Port: 53, Protocol: "UDP"}}}},
		},
		{
			name: "headless without ports lists addresses; hostname only for the matching subdomain",
			svc: service(func(s *corev1.Service) {
				s.Spec.ClusterIP = corev1.ClusterIPNone
				s.Spec.Ports = nil
			}),
			pods: []*corev1.Pod{pod("a", "10.0.0.1", ready, hostname("a", "web")), pod("b", "10.0.0.2", ready, hostname("b", "other"))},
			want: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{
				func() corev1.EndpointAddress { a := addr("a", "10.0.0.1"); a.Hostname = "a"; return a }(),
				addr("b", "10.0.0.2"),
			}}},
		},
		{
			name: "no pods, no subsets",
			svc:  service(nil),
			want: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := computeSubsets(tc.svc, tc.pods)
			if !equality.Semantic.DeepEqual(got.Subsets, tc.want) {
				t.Errorf("subsets:\n got %+v\nwant %+v", got.Subsets, tc.want)
			}
			if got.Truncated {
				t.Errorf("truncated")
			}
		})
	}
}

func TestRepackSubsetsMergesAndPrefersReady(t *testing.T) {
	p1 := corev1.EndpointPort{Name: "a", Port: 1, Protocol: "TCP"}
	p2 := corev1.EndpointPort{Name: "b", Port: 2, Protocol: "TCP"}
	in := []corev1.EndpointSubset{
		{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.2"}}, Ports: []corev1.EndpointPort{p1}},
		{NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.0.0.2"}}, Ports: []corev1.EndpointPort{p2}},
		{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}}, Ports: []corev1.EndpointPort{p2, p1}},
		{NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.0.0.3"}}, Ports: []corev1.EndpointPort{p1}},
	}
	want := []corev1.EndpointSubset{
		{NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.0.0.3"}}, Ports: []corev1.EndpointPort{p1}},
		{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}}, Ports: []corev1.EndpointPort{p1, p2}},
	}
	got := repackSubsets(in)
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestTruncate(t *testing.T) {
	var pods []*corev1.Pod
	for i := range 1200 {
		ip := "10." + itoa(i/65536) + "." + itoa(i/256%256) + "." + itoa(i%256)
		if i%2 == 0 {
			pods = append(pods, pod("p"+itoa(i), ip, ready))
		} else {
			pods = append(pods, pod("p"+itoa(i), ip))
		}
	}
	d := computeSubsets(service(nil), pods)
	if !d.Truncated {
		t.Fatal("not truncated")
	}
	n := 0
	for _, s := range d.Subsets {
		n += len(s.Addresses) + len(s.NotReadyAddresses)
		if len(s.Addresses) != 600 {
			t.Errorf("ready addresses %d, want all 600 kept first", len(s.Addresses))
		}
	}
	if n != maxAddresses {
		t.Errorf("kept %d addresses, want %d", n, maxAddresses)
	}
}

func itoa(i int) string {
	return string(rune('0'+i/1000%10)) + string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}
