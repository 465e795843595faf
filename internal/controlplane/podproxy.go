package controlplane

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-dev/skiff/internal/agent"
	"github.com/skiff-dev/skiff/internal/pki"
)

// podRouter serves pods/log, exec, attach, portforward and proxy for the
// API server, as kube-apiserver does with the kubelet's port: it finds
// the pod's node and hands the request to the local node agent
// in-process, or proxies it to the node's agent over HTTPS (including
// upgraded SPDY and WebSocket streams) at
// https://InternalIP:status.daemonEndpoints.kubeletEndpoint.port with the
// same path and query.
//
// Towards an agent it authenticates with the API server's kubelet client
// certificate and accepts only the agent certificate whose fingerprint
// the Node publishes (pki.ServingCertAnnotation).
type podRouter struct {
	getPod     func(ctx context.Context, ns, name string) (*corev1.Pod, error)
	getNode    func(ctx context.Context, name string) (*corev1.Node, error)
	clientCert tls.Certificate
	log        *slog.Logger

	// localNode is the node of the agent inside this process ("": none),
	// whose handler local holds once it runs.
	localNode string
	local     handlerSlot

	mu sync.Mutex
	// transports keep connections to agents, by address and pin.
	transports map[string]*http.Transport
}

// maxTransports bounds the cached transports; past it they are dropped
// (nodes come and go, and re-register with new addresses or pins).
const maxTransports = 256

func (p *podRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ns, name, sub, ok := parsePodSubresourcePath(r.URL.Path)
	if !ok {
		agent.WriteStatus(w, apierrors.NewNotFound(schema.GroupResource{}, r.URL.Path))
		return
	}
	pod, err := p.getPod(r.Context(), ns, name)
	if err != nil {
		agent.WriteStatus(w, err)
		return
	}
	node := pod.Spec.NodeName
	if node == "" {
		if sub == "log" {
			// kube-apiserver answers an unscheduled pod's log with an
			// empty stream.
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			return
		}
		agent.WriteStatus(w, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", name)))
		return
	}
	if node == p.localNode && p.localNode != "" {
		h := p.local.get()
		if h == nil {
			agent.WriteStatus(w, apierrors.NewServiceUnavailable(fmt.Sprintf("the node agent of %s has not started yet", node)))
			return
		}
		h.ServeHTTP(w, r)
		return
	}
	n, err := p.getNode(r.Context(), node)
	if err != nil {
		agent.WriteStatus(w, err)
		return
	}
	addr, pin, err := agentEndpoint(n)
	if err != nil {
		agent.WriteStatus(w, apierrors.NewServiceUnavailable(err.Error()))
		return
	}
	p.proxy(w, r, node, addr, pin)
}

// proxy forwards r to the agent at addr, verifying it by pin.
func (p *podRouter) proxy(w http.ResponseWriter, r *http.Request, node, addr, pin string) {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "https", Host: addr})
			pr.SetXForwarded()
			// The caller's credentials are for the API server, not for
			// nodes (kube-apiserver drops them after authenticating).
			for _, h := range []string{"Authorization", "Proxy-Authorization", "Cookie"} {
				pr.Out.Header.Del(h)
			}
			for h := range pr.Out.Header {
				if strings.HasPrefix(h, "Impersonate-") {
					pr.Out.Header.Del(h)
				}
			}
		},
		Transport: p.transport(addr, pin),
		// Logs are followed: every write goes to the client at once.
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away
			}
			p.log.Debug("proxy to node agent", "node", node, "address", addr, "err", err)
			agent.WriteStatus(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error dialing backend: node %s agent at %s: %v", node, addr, err)))
		},
	}
	rp.ServeHTTP(w, r)
}

// transport returns the (shared) transport to the agent at addr whose
// certificate has the fingerprint pin.
func (p *podRouter) transport(addr, pin string) *http.Transport {
	key := addr + "/" + pin
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.transports[key]; t != nil {
		return t
	}
	if p.transports == nil || len(p.transports) >= maxTransports {
		for _, t := range p.transports {
			t.CloseIdleConnections()
		}
		p.transports = map[string]*http.Transport{}
	}
	t := &http.Transport{
		Proxy:       nil, // agents are dialled directly, never through $HTTPS_PROXY
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{p.clientCert},
			// The agent's certificate is self-signed: no chain or name
			// to check. The pin below is the whole verification, and it
			// is never empty (agentEndpoint).
			InsecureSkipVerify:    true,
			VerifyPeerCertificate: pki.VerifyPinned(pin),
			// HTTP/1.1 only: exec and port-forward upgrade the connection.
			NextProtos: []string{"http/1.1"},
			MinVersion: tls.VersionTLS12,
		},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	p.transports[key] = t
	return t
}

// closeIdle closes the kept connections to agents (at shutdown).
func (p *podRouter) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.transports {
		t.CloseIdleConnections()
	}
}

// agentEndpoint is where a Node's agent listens (HOST:PORT) and the pin
// of its certificate, or why it cannot be reached.
func agentEndpoint(n *corev1.Node) (addr, pin string, err error) {
	var ip string
	// InternalIP first, as kube-apiserver's default
	// --kubelet-preferred-address-types puts IPs before names skiff
	// cannot resolve.
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP} {
		for _, a := range n.Status.Addresses {
			if a.Type == t && net.ParseIP(a.Address) != nil && ip == "" {
				ip = a.Address
			}
		}
	}
	if ip == "" {
		return "", "", fmt.Errorf("node %s has no InternalIP to reach its agent at; known addresses: %v", n.Name, n.Status.Addresses)
	}
	port := n.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port <= 0 || port > 65535 {
		return "", "", fmt.Errorf("node %s publishes no agent endpoint (status.daemonEndpoints.kubeletEndpoint.port is %d): its agent does not serve logs, exec or port-forward (skiff agent --listen-address)", n.Name, port)
	}
	pin = n.Annotations[pki.ServingCertAnnotation]
	if pin == "" {
		return "", "", fmt.Errorf("node %s publishes no serving certificate fingerprint (annotation %s) to verify its agent by", n.Name, pki.ServingCertAnnotation)
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(port))), pin, nil
}

// parsePodSubresourcePath splits /api/v1/namespaces/NS/pods/NAME/SUB
// (and SUB/REST, as pods/proxy has).
func parsePodSubresourcePath(path string) (ns, name, sub string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 8)
	if len(parts) < 7 || parts[0] != "api" || parts[1] != "v1" || parts[2] != "namespaces" || parts[4] != "pods" {
		return "", "", "", false
	}
	if parts[3] == "" || parts[5] == "" || parts[6] == "" {
		return "", "", "", false
	}
	return parts[3], parts[5], parts[6], true
}

// handlerSlot holds an http.Handler set later (the node agent starts
// after the API server).
type handlerSlot struct {
	h atomic.Pointer[http.Handler]
}

func (s *handlerSlot) set(h http.Handler) { s.h.Store(&h) }

// get is the handler, or nil before set.
func (s *handlerSlot) get() http.Handler {
	if h := s.h.Load(); h != nil {
		return *h
	}
	return nil
}
