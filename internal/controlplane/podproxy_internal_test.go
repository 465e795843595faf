package controlplane

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/internal/pki"
)

func TestParsePodSubresourcePath(t *testing.T) {
	for _, tc := range []struct {
		path          string
		ns, name, sub string
		ok            bool
	}{
		{"/api/v1/namespaces/default/pods/web/log", "default", "web", "log", true},
		{"/api/v1/namespaces/kube-system/pods/dns-1/exec", "kube-system", "dns-1", "exec", true},
		{"/api/v1/namespaces/default/pods/web/proxy/some/path", "default", "web", "proxy", true},
		{"/api/v1/namespaces/default/pods/web", "", "", "", false},
		{"/api/v1/namespaces/default/services/web/proxy", "", "", "", false},
		{"/apis/apps/v1/namespaces/default/pods/web/log", "", "", "", false},
		{"/api/v1/namespaces//pods/web/log", "", "", "", false},
		{"/api/v1/namespaces/default/pods//log", "", "", "", false},
	} {
		ns, name, sub, ok := parsePodSubresourcePath(tc.path)
		if ns != tc.ns || name != tc.name || sub != tc.sub || ok != tc.ok {
			t.Errorf("%s: %q %q %q %v, want %q %q %q %v", tc.path, ns, name, sub, ok, tc.ns, tc.name, tc.sub, tc.ok)
		}
	}
}

func TestAgentEndpoint(t *testing.T) {
	pin := strings.Repeat("ab", 32)
	node := func(port int32, pin string, addrs ...corev1.NodeAddress) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Annotations: map[string]string{}}}
		if pin != "" {
			n.Annotations[pki.ServingCertAnnotation] = pin
		}
		n.Status.Addresses = addrs
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
		return n
	}
	internal := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.7"}
	external := corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "127.0.0.8"}
	hostname := corev1.NodeAddress{Type: corev1.NodeHostName, Address: "box"}
	for _, tc := range []struct {
		name    string
		node    *corev1.Node
		addr    string
		errPart string
	}{
		{"internal IP", node(10250, pin, hostname, external, internal), "127.0.0.7:10250", ""},
		{"external IP only", node(10250, pin, hostname, external), "127.0.0.8:10250", ""},
		{"IPv6", node(9, pin, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "::1"}), "[::1]:9", ""},
		{"hostname only", node(10250, pin, hostname), "", "has no InternalIP"},
		{"no port", node(0, pin, internal), "", "publishes no agent endpoint"},
		{"no pin", node(10250, "", internal), "", "no serving certificate fingerprint"},
	} {
		addr, gotPin, err := agentEndpoint(tc.node)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("%s: %v, want error with %q", tc.name, err, tc.errPart)
			}
			continue
		}
		if err != nil || addr != tc.addr || gotPin != pin {
			t.Errorf("%s: %q %q %v, want %q", tc.name, addr, gotPin, err, tc.addr)
		}
	}
}
