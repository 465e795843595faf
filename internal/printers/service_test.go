package printers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestServiceCells(t *testing.T) {
	tests := []struct {
		name string
		spec corev1.ServiceSpec
		lb   []corev1.LoadBalancerIngress
		// type, cluster-ip, external-ip, ports, selector
		want [5]string
	}{
		{
			name: "cluster ip with selector",
			spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
				Ports:    []corev1.ServicePort{{Port: 53, Protocol: corev1.ProtocolUDP}, {Port: 53, Protocol: corev1.ProtocolTCP}},
				Selector: map[string]string{"k8s-app": "kube-dns"},
			},
			want: [5]string{"ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP", "k8s-app=kube-dns"},
		},
		{
			name: "node port with external ips",
			spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.96.4.2"}, ExternalIPs: []string{"192.0.2.1", "192.0.2.2"},
				Ports:    []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}},
				Selector: map[string]string{"app": "web", "tier": "fe"},
			},
			want: [5]string{"NodePort", "10.96.4.2", "192.0.2.1,192.0.2.2", "80:30080/TCP", "app=web,tier=fe"},
		},
		{
			name: "load balancer pending",
			spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.7.7"},
				Ports: []corev1.ServicePort{{Port: 443, NodePort: 31443, Protocol: corev1.ProtocolTCP}},
			},
			want: [5]string{"LoadBalancer", "10.96.7.7", "<pending>", "443:31443/TCP", "<none>"},
		},
		{
			name: "load balancer with ingress, sorted and deduplicated, not clipped",
			spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.7.7"},
				Ports: []corev1.ServicePort{{Port: 80, NodePort: 30001, Protocol: corev1.ProtocolTCP}},
			},
			lb:   []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}, {IP: "203.0.113.7"}, {IP: "203.0.113.7"}},
			want: [5]string{"LoadBalancer", "10.96.7.7", "203.0.113.7,lb.example.com", "80:30001/TCP", "<none>"},
		},
		{
			name: "load balancer ingress plus external ips",
			spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.7.7"}, ExternalIPs: []string{"198.51.100.1"},
				Ports: []corev1.ServicePort{{Port: 80, NodePort: 30001, Protocol: corev1.ProtocolTCP}},
			},
			lb:   []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}},
			want: [5]string{"LoadBalancer", "10.96.7.7", "203.0.113.7,198.51.100.1", "80:30001/TCP", "<none>"},
		},
		{
			name: "external name",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"},
			want: [5]string{"ExternalName", "<none>", "db.example.com", "<none>", "<none>"},
		},
		{
			name: "headless",
			spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", ClusterIPs: []string{"None"},
				Ports: []corev1.ServicePort{{Port: 5432, Protocol: corev1.ProtocolTCP}},
			},
			want: [5]string{"ClusterIP", "None", "<none>", "5432/TCP", "<none>"},
		},
		{
			name: "singular clusterIP only",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP}}},
			want: [5]string{"ClusterIP", "10.96.0.1", "<none>", "443/TCP", "<none>"},
		},
		{
			name: "undefaulted type",
			spec: corev1.ServiceSpec{},
			want: [5]string{"", "<none>", "<unknown>", "<none>", "<none>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: "svc", CreationTimestamp: created},
				Spec:       tt.spec,
				Status:     corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: tt.lb}},
			}
			checkCells(t, schema.GroupResource{Resource: "services"}, svc, []interface{}{
				"svc", tt.want[0], tt.want[1], tt.want[2], tt.want[3], "5m", tt.want[4],
			})
		})
	}
}

func TestLoadBalancerClipping(t *testing.T) {
	s := corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{Hostname: "a-very-long-hostname.example.com"}}}
	if got := loadBalancerStatus(s, false); got != "a-very-long-h..." {
		t.Errorf("narrow = %q", got)
	}
	if got := loadBalancerStatus(s, true); got != "a-very-long-hostname.example.com" {
		t.Errorf("wide = %q", got)
	}
}

func addrs(ips ...string) []corev1.EndpointAddress {
	out := make([]corev1.EndpointAddress, len(ips))
	for i, ip := range ips {
		out[i] = corev1.EndpointAddress{IP: ip}
	}
	return out
}

func TestEndpointsCells(t *testing.T) {
	tests := []struct {
		name    string
		subsets []corev1.EndpointSubset
		want    string
	}{
		{name: "none", want: "<none>"},
		{
			name:    "more than three",
			subsets: []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"), Ports: []corev1.EndpointPort{{Name: "http", Port: 80}}}},
			want:    "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...",
		},
		{
			name:    "every port of every address counts",
			subsets: []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2"), Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}}}},
			want:    "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
		},
		{
			name:    "exactly three across subsets",
			subsets: []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1"), Ports: []corev1.EndpointPort{{Port: 80}}}, {Addresses: addrs("10.0.1.1", "10.0.1.2"), Ports: []corev1.EndpointPort{{Port: 8080}}}},
			want:    "10.0.0.1:80,10.0.1.1:8080,10.0.1.2:8080",
		},
		{
			name:    "headless without ports",
			subsets: []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2")}},
			want:    "10.0.0.1,10.0.0.2",
		},
		{
			name:    "ipv6",
			subsets: []corev1.EndpointSubset{{Addresses: addrs("fd00::1"), Ports: []corev1.EndpointPort{{Port: 8080}}}},
			want:    "[fd00::1]:8080",
		},
		{
			name:    "only not-ready addresses",
			subsets: []corev1.EndpointSubset{{NotReadyAddresses: addrs("10.0.0.1"), Ports: []corev1.EndpointPort{{Port: 80}}}},
			want:    "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: created}, Subsets: tt.subsets}
			checkCells(t, schema.GroupResource{Resource: "endpoints"}, ep, []interface{}{"web", tt.want, "5m"})
		})
	}
}

func TestEndpointSliceCells(t *testing.T) {
	gr := schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}
	var eps []discoveryv1.Endpoint
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"} {
		eps = append(eps, discoveryv1.Endpoint{Addresses: []string{ip}})
	}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abcde", CreationTimestamp: created},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{
			{Name: ptrTo("http"), Port: ptrTo[int32](80)},
			{Name: ptrTo("metrics")},
			{},
			{Port: ptrTo[int32](9090)},
		},
		Endpoints: eps,
	}
	checkCells(t, gr, es, []interface{}{"web-abcde", "IPv4", "80,metrics,* + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...", "5m"})

	empty := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "e", CreationTimestamp: created}, AddressType: discoveryv1.AddressTypeIPv6}
	checkCells(t, gr, empty, []interface{}{"e", "IPv6", "<unset>", "<unset>", "5m"})
}
