package controlplane

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestRouterProxiesWithoutCallerCredentials checks what reaches an agent:
// the path and query, the API server's client certificate, and none of
// the caller's credentials.
func TestRouterProxiesWithoutCallerCredentials(t *testing.T) {
	b, err := pki.Load(t.TempDir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	serving, err := pki.LoadOrCreateSelfSigned(t.TempDir(), "n1", []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		URI, CN string
		Header  http.Header
	}
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{URI: r.RequestURI, Header: r.Header}
		if len(r.TLS.PeerCertificates) > 0 {
			s.CN = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		_ = json.NewEncoder(w).Encode(s)
	}))
	backend.TLS = &tls.Config{Certificates: []tls.Certificate{serving}, ClientAuth: tls.RequireAnyClientCert}
	backend.StartTLS()
	defer backend.Close()
	_, port, _ := net.SplitHostPort(backend.Listener.Addr().String())
	portN, _ := strconv.Atoi(port)

	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Annotations: map[string]string{pki.ServingCertAnnotation: pki.Fingerprint(serving.Certificate[0])}}}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(portN)
	router := &podRouter{
		getPod: func(_ context.Context, ns, name string) (*corev1.Pod, error) {
			return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.PodSpec{NodeName: "n1"}}, nil
		},
		getNode:    func(context.Context, string) (*corev1.Node, error) { return n, nil },
		clientCert: b.KubeletClient,
		log:        slog.New(slog.DiscardHandler),
		localNode:  "server-node",
	}
	defer router.closeIdle()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/namespaces/ns1/pods/p1/log?follow=true&tailLines=3", nil)
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("Impersonate-User", "someone")
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	var got seen
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("proxied answer %d %q: %v", rec.Code, rec.Body.String(), err)
	}
	if got.URI != "/api/v1/namespaces/ns1/pods/p1/log?follow=true&tailLines=3" {
		t.Errorf("agent got %q", got.URI)
	}
	if got.CN != pki.KubeletClientName {
		t.Errorf("agent saw client certificate %q, want %q", got.CN, pki.KubeletClientName)
	}
	for _, h := range []string{"Authorization", "Impersonate-User"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("agent got the caller's %s: %q", h, v)
		}
	}
}
