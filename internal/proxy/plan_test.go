package proxy

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// ep builds a slice endpoint; cond is "ready", "notready",
// "serving-terminating", "terminating" (not serving) or "nil".
func ep(ip, cond, node string) discovery.Endpoint {
	e := discovery.Endpoint{Addresses: []string{ip}}
	if node != "" {
		e.NodeName = ptr(node)
	}
	switch cond {
	case "ready":
		e.Conditions = discovery.EndpointConditions{Ready: ptr(true), Serving: ptr(true), Terminating: ptr(false)}
	case "notready":
		e.Conditions = discovery.EndpointConditions{Ready: ptr(false), Serving: ptr(false), Terminating: ptr(false)}
	case "serving-terminating":
		e.Conditions = discovery.EndpointConditions{Ready: ptr(false), Serving: ptr(true), Terminating: ptr(true)}
	case "terminating":
		e.Conditions = discovery.EndpointConditions{Ready: ptr(false), Serving: ptr(false), Terminating: ptr(true)}
	}
	return e
}

func slice(ports []discovery.EndpointPort, eps ...discovery.Endpoint) *discovery.EndpointSlice {
	return &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "s", Labels: map[string]string{discovery.LabelServiceName: "web"}},
		AddressType: discovery.AddressTypeIPv4, Ports: ports, Endpoints: eps,
	}
}

func sport(name string, proto corev1.Protocol, port int32) discovery.EndpointPort {
	return discovery.EndpointPort{Name: ptr(name), Protocol: ptr(proto), Port: ptr(port)}
}

func svc(mod func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: "127.96.0.5", ClusterIPs: []string{"127.96.0.5"},
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}},
		},
	}
	if mod != nil {
		mod(s)
	}
	return s
}

func TestChooseEndpoints(t *testing.T) {
	http := []discovery.EndpointPort{sport("http", corev1.ProtocolTCP, 8080)}
	tk := targetKey{Port: "http", Proto: corev1.ProtocolTCP}
	cases := []struct {
		name   string
		slices []*discovery.EndpointSlice
		tk     targetKey
		local  bool
		want   []string
	}{
		{"ready only", []*discovery.EndpointSlice{slice(http, ep("127.70.0.2", "ready", ""), ep("127.70.0.1", "ready", ""), ep("127.70.0.3", "notready", ""))},
			tk, false, []string{"127.70.0.1:8080", "127.70.0.2:8080"}},
		{"nil conditions are ready", []*discovery.EndpointSlice{slice(http, ep("127.70.0.1", "nil", ""))},
			tk, false, []string{"127.70.0.1:8080"}},
		{"terminating serving ignored while any is ready", []*discovery.EndpointSlice{slice(http, ep("127.70.0.1", "ready", ""), ep("127.70.0.2", "serving-terminating", ""))},
			tk, false, []string{"127.70.0.1:8080"}},
		{"fallback to serving terminating", []*discovery.EndpointSlice{slice(http, ep("127.70.0.1", "notready", ""), ep("127.70.0.2", "serving-terminating", ""), ep("127.70.0.3", "terminating", ""))},
			tk, false, []string{"127.70.0.2:8080"}},
		{"nothing usable", []*discovery.EndpointSlice{slice(http, ep("127.70.0.1", "notready", ""), ep("127.70.0.3", "terminating", ""))},
			tk, false, nil},
		{"port by name", []*discovery.EndpointSlice{slice([]discovery.EndpointPort{sport("metrics", corev1.ProtocolTCP, 9090), sport("http", corev1.ProtocolTCP, 8081)}, ep("127.70.0.1", "ready", ""))},
			tk, false, []string{"127.70.0.1:8081"}},
		{"port protocol must match", []*discovery.EndpointSlice{slice([]discovery.EndpointPort{sport("http", corev1.ProtocolUDP, 8080)}, ep("127.70.0.1", "ready", ""))},
			tk, false, nil},
		{"unnamed port, nil protocol is TCP", []*discovery.EndpointSlice{slice([]discovery.EndpointPort{{Port: ptr(int32(7))}}, ep("127.70.0.1", "ready", ""))},
			targetKey{Proto: corev1.ProtocolTCP}, false, []string{"127.70.0.1:7"}},
		{"per-slice ports (named targetPort resolved per pod)", []*discovery.EndpointSlice{
			slice(http, ep("127.70.0.1", "ready", "")),
			slice([]discovery.EndpointPort{sport("http", corev1.ProtocolTCP, 9000)}, ep("127.70.0.2", "ready", "")),
		}, tk, false, []string{"127.70.0.1:8080", "127.70.0.2:9000"}},
		{"duplicate across slices keeps the ready copy", []*discovery.EndpointSlice{
			slice(http, ep("127.70.0.1", "notready", "")),
			slice(http, ep("127.70.0.1", "ready", "")),
		}, tk, false, []string{"127.70.0.1:8080"}},
		{"other address family ignored", []*discovery.EndpointSlice{func() *discovery.EndpointSlice {
			s := slice(http, ep("::1", "ready", ""))
			s.AddressType = discovery.AddressTypeIPv6
			return s
		}()}, tk, false, nil},
		{"local only", []*discovery.EndpointSlice{slice(http, ep("127.70.0.1", "ready", "n1"), ep("127.70.0.2", "ready", "n2"))},
			tk, true, []string{"127.70.0.1:8080"}},
		{"local fallback to serving terminating", []*discovery.EndpointSlice{slice(http, ep("127.70.0.1", "serving-terminating", "n1"), ep("127.70.0.2", "ready", "n2"))},
			tk, true, []string{"127.70.0.1:8080"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := chooseEndpoints(c.slices, c.tk, c.local, "n1")
			var want []netip.AddrPort
			for _, s := range c.want {
				want = append(want, ap(s))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestPlanService(t *testing.T) {
	node := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	http := []discovery.EndpointPort{sport("http", corev1.ProtocolTCP, 8080)}
	ready := []*discovery.EndpointSlice{slice(http, ep("127.70.0.1", "ready", "n1"), ep("127.70.0.2", "ready", "n2"))}
	httpTK := targetKey{Port: "http", Proto: corev1.ProtocolTCP}
	twoEps := []netip.AddrPort{ap("127.70.0.1:8080"), ap("127.70.0.2:8080")}
	cases := []struct {
		name      string
		svc       *corev1.Service
		slices    []*discovery.EndpointSlice
		listeners map[listenKey]targetKey
		targets   map[targetKey]target
	}{
		{"cluster IP", svc(nil), ready,
			map[listenKey]targetKey{{corev1.ProtocolTCP, ap("127.96.0.5:80")}: httpTK},
			map[targetKey]target{httpTK: {Endpoints: twoEps}}},
		{"listens without endpoints (to refuse)", svc(nil), nil,
			map[listenKey]targetKey{{corev1.ProtocolTCP, ap("127.96.0.5:80")}: httpTK},
			map[targetKey]target{httpTK: {}}},
		{"headless", svc(func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"} }), ready,
			map[listenKey]targetKey{}, map[targetKey]target{}},
		{"external name", svc(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName }), ready,
			map[listenKey]targetKey{}, map[targetKey]target{}},
		{"no cluster IP yet", svc(func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil }), ready,
			map[listenKey]targetKey{}, map[targetKey]target{}},
		{"nodeport", svc(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = 30080
		}), ready,
			map[listenKey]targetKey{
				{corev1.ProtocolTCP, ap("127.96.0.5:80")}:   httpTK,
				{corev1.ProtocolTCP, ap("127.0.0.1:30080")}: {Port: "http", Proto: corev1.ProtocolTCP, External: true},
			},
			map[targetKey]target{httpTK: {Endpoints: twoEps}, {Port: "http", Proto: corev1.ProtocolTCP, External: true}: {Endpoints: twoEps}}},
		{"external traffic policy local", svc(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.Ports[0].NodePort = 30080
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}), ready,
			map[listenKey]targetKey{
				{corev1.ProtocolTCP, ap("127.96.0.5:80")}:   httpTK,
				{corev1.ProtocolTCP, ap("127.0.0.1:30080")}: {Port: "http", Proto: corev1.ProtocolTCP, External: true},
			},
			map[targetKey]target{httpTK: {Endpoints: twoEps}, {Port: "http", Proto: corev1.ProtocolTCP, External: true}: {Endpoints: []netip.AddrPort{ap("127.70.0.1:8080")}}}},
		{"internal traffic policy local", svc(func(s *corev1.Service) {
			s.Spec.InternalTrafficPolicy = ptr(corev1.ServiceInternalTrafficPolicyLocal)
		}), ready,
			map[listenKey]targetKey{{corev1.ProtocolTCP, ap("127.96.0.5:80")}: httpTK},
			map[targetKey]target{httpTK: {Endpoints: []netip.AddrPort{ap("127.70.0.1:8080")}}}},
		{"session affinity default timeout", svc(func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP }), ready,
			map[listenKey]targetKey{{corev1.ProtocolTCP, ap("127.96.0.5:80")}: httpTK},
			map[targetKey]target{httpTK: {Endpoints: twoEps, Affinity: 10800 * time.Second}}},
		{"session affinity timeout", svc(func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr(int32(60))}}
		}), ready,
			map[listenKey]targetKey{{corev1.ProtocolTCP, ap("127.96.0.5:80")}: httpTK},
			map[targetKey]target{httpTK: {Endpoints: twoEps, Affinity: time.Minute}}},
		{"multi-protocol ports", svc(func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53}, {Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53}, {Name: "s", Protocol: corev1.ProtocolSCTP, Port: 9}}
		}), []*discovery.EndpointSlice{slice([]discovery.EndpointPort{sport("dns", corev1.ProtocolUDP, 10053), sport("dns-tcp", corev1.ProtocolTCP, 10053)}, ep("127.70.0.1", "ready", ""))},
			map[listenKey]targetKey{
				{corev1.ProtocolUDP, ap("127.96.0.5:53")}: {Port: "dns", Proto: corev1.ProtocolUDP},
				{corev1.ProtocolTCP, ap("127.96.0.5:53")}: {Port: "dns-tcp", Proto: corev1.ProtocolTCP},
			},
			map[targetKey]target{
				{Port: "dns", Proto: corev1.ProtocolUDP}:     {Endpoints: []netip.AddrPort{ap("127.70.0.1:10053")}},
				{Port: "dns-tcp", Proto: corev1.ProtocolTCP}: {Endpoints: []netip.AddrPort{ap("127.70.0.1:10053")}},
			}},
		{"served on its own address: no listener", svc(nil),
			[]*discovery.EndpointSlice{slice(http[:0:0], ep("127.96.0.5", "ready", ""))},
			map[listenKey]targetKey{{corev1.ProtocolTCP, ap("127.96.0.5:80")}: httpTK},
			map[targetKey]target{httpTK: {}}},
	}
	// The last case needs a port named like the service's and equal to it.
	cases[len(cases)-1].slices[0].Ports = []discovery.EndpointPort{sport("http", corev1.ProtocolTCP, 80)}
	cases[len(cases)-1].listeners = map[listenKey]targetKey{}
	cases[len(cases)-1].targets = map[targetKey]target{httpTK: {Endpoints: []netip.AddrPort{ap("127.96.0.5:80")}}}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := planService(c.svc, c.slices, node, "n1")
			if !reflect.DeepEqual(got.Listeners, c.listeners) {
				t.Errorf("listeners: got %v, want %v", got.Listeners, c.listeners)
			}
			if !reflect.DeepEqual(got.Targets, c.targets) {
				t.Errorf("targets: got %v, want %v", got.Targets, c.targets)
			}
		})
	}
}

func TestDiffListeners(t *testing.T) {
	a := listenKey{corev1.ProtocolTCP, ap("127.96.0.5:80")}
	b := listenKey{corev1.ProtocolUDP, ap("127.96.0.5:53")}
	c := listenKey{corev1.ProtocolTCP, ap("127.0.0.1:30080")}
	t1 := targetKey{Port: "x"}
	t2 := targetKey{Port: "y"}
	cases := []struct {
		name       string
		have, want map[listenKey]targetKey
		diff       listenerDiff
	}{
		{"from nothing", nil, map[listenKey]targetKey{a: t1, c: t1}, listenerDiff{Open: []listenKey{c, a}}},
		{"to nothing", map[listenKey]targetKey{a: t1, b: t2}, nil, listenerDiff{Close: []listenKey{a, b}}},
		{"same", map[listenKey]targetKey{a: t1}, map[listenKey]targetKey{a: t1}, listenerDiff{Keep: []listenKey{a}}},
		{"retargeted is kept", map[listenKey]targetKey{a: t1}, map[listenKey]targetKey{a: t2}, listenerDiff{Keep: []listenKey{a}}},
		{"port moved", map[listenKey]targetKey{a: t1, b: t2}, map[listenKey]targetKey{c: t1, b: t2}, listenerDiff{Open: []listenKey{c}, Close: []listenKey{a}, Keep: []listenKey{b}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := diffListeners(c.have, c.want); !reflect.DeepEqual(got, c.diff) {
				t.Errorf("got %+v, want %+v", got, c.diff)
			}
		})
	}
}
