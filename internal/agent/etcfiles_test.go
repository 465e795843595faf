package agent

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestResolvConf(t *testing.T) {
	pod := func(policy corev1.DNSPolicy, cfg *corev1.PodDNSConfig) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}, Spec: corev1.PodSpec{DNSPolicy: policy, DNSConfig: cfg}}
	}
	dns := []string{"10.96.0.10"}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		dns  []string
		want string
		ok   bool
	}{
		{"cluster first", pod(corev1.DNSClusterFirst, nil), dns,
			"nameserver 10.96.0.10\nsearch ns.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n", true},
		{"no cluster dns", pod(corev1.DNSClusterFirst, nil), nil, "", false},
		{"default", pod(corev1.DNSDefault, nil), dns, "", false},
		{"none with config", pod(corev1.DNSNone, &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"example.com"},
			Options: []corev1.PodDNSConfigOption{{Name: "edns0"}}}), dns,
			"nameserver 1.1.1.1\nsearch example.com\noptions edns0\n", true},
		{"cluster first with options", pod(corev1.DNSClusterFirst, &corev1.PodDNSConfig{Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}}}), dns,
			"nameserver 10.96.0.10\nsearch ns.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:2\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := resolvConf(tc.pod, tc.dns, "cluster.local")
			if got != tc.want || ok != tc.ok {
				t.Errorf("resolvConf = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestHostsFile(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-0"}, Spec: corev1.PodSpec{
		Hostname: "web-0", Subdomain: "web",
		HostAliases: []corev1.HostAlias{{IP: "10.1.1.1", Hostnames: []string{"foo", "bar"}}},
	}}
	want := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
		"127.64.0.5\tweb-0.web.ns.svc.cluster.local\tweb-0\n\n# Entries added by HostAliases.\n10.1.1.1\tfoo\tbar\n"
	if got := hostsFile(pod, "127.64.0.5", "cluster.local"); got != want {
		t.Errorf("hosts =\n%s\nwant\n%s", got, want)
	}
}
