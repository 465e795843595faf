package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"

	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/internal/apiserver"
	"github.com/skiff-dev/skiff/internal/buildinfo"
	"github.com/skiff-dev/skiff/internal/defaulting"
	"github.com/skiff-dev/skiff/internal/inproc"
	"github.com/skiff-dev/skiff/internal/openapi"
	"github.com/skiff-dev/skiff/internal/pki"
	"github.com/skiff-dev/skiff/internal/registry"
	"github.com/skiff-dev/skiff/internal/storage"
	"github.com/skiff-dev/skiff/internal/storage/cacher"
	"github.com/skiff-dev/skiff/internal/storage/embedetcd"
	"github.com/skiff-dev/skiff/internal/storage/etcd3"
	"github.com/skiff-dev/skiff/internal/validation"
)

// Config is what `skiff server` was asked to do.
type Config struct {
	DataDir     string
	BindAddress string
	// Port 0 picks a free port (written into the kubeconfig).
	Port        int
	EtcdServers []string
	NodeName    string
	Logger      *slog.Logger
	// DisableAgent: no node agent in this process (control plane only).
	DisableAgent bool
	// ImageAliases maps image names to host executables for containers
	// without a command (--image-alias NAME=PATH).
	ImageAliases map[string]string
	// StopPodsOnExit stops every pod when the server exits (by default
	// pods keep running, as they do when a kubelet restarts).
	StopPodsOnExit bool
	// DNSPort is the port cluster DNS listens on, on the kube-dns
	// Service's ClusterIP (0: no cluster DNS).
	DNSPort int
	// ServiceCIDR is where ClusterIPs come from (zero: the registry's
	// default, on loopback).
	ServiceCIDR netip.Prefix
	// Controllers names the controllers to run when ControllersSet is
	// true (tests run only the one they test); otherwise all run.
	Controllers    []string
	ControllersSet bool
}

// ControlPlane is a running `skiff server`.
type ControlPlane struct {
	cfg   Config
	log   *slog.Logger
	ready chan struct{}

	mu  sync.Mutex
	url string // set once serving

	// pods routes pods/log, exec, attach and portforward to the pod's
	// node agent (podproxy.go); set once the credentials are loaded.
	pods *podRouter

	// dnsAddr is where cluster DNS listens ("" = none), set before the
	// controllers start.
	dnsAddr string
}

// New checks cfg and returns a ControlPlane ready to Run.
func New(cfg Config) (*ControlPlane, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("no data directory")
	}
	if cfg.BindAddress == "" {
		cfg.BindAddress = "127.0.0.1"
	}
	if net.ParseIP(cfg.BindAddress) == nil {
		return nil, fmt.Errorf("--bind-address %q is not an IP address", cfg.BindAddress)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("--port %d is out of range 0-65535", cfg.Port)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("node name: %w", err)
		}
		cfg.NodeName = h
	}
	return &ControlPlane{cfg: cfg, log: cfg.Logger, ready: make(chan struct{})}, nil
}

// Ready is closed once the API answers and the kubeconfig is written.
func (c *ControlPlane) Ready() <-chan struct{} { return c.ready }

// URL is the API server's address, valid after Ready.
func (c *ControlPlane) URL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.url
}

// KubeconfigPath is where the admin kubeconfig is written.
func KubeconfigPath(dataDir string) string { return filepath.Join(dataDir, "kubeconfig") }

// TokenPath is where the node join token is written.
func TokenPath(dataDir string) string { return filepath.Join(dataDir, "token") }

// Run serves until ctx ends, then shuts down in order.
func (c *ControlPlane) Run(ctx context.Context) error {
	start := time.Now()
	if err := os.MkdirAll(c.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	client, closeEtcd, err := c.startEtcd(ctx)
	if err != nil {
		return err
	}
	defer closeEtcd()
	c.log.Debug("etcd ready", "after", time.Since(start))

	scheme, err := registry.NewScheme()
	if err != nil {
		return err
	}
	// Lists and watches are served from memory by the watch cache; reads
	// of single objects and every write go to etcd (an update starts from
	// the cache's copy and writes conditionally on its revision).
	var resources []cacher.Resource
	for prefix, dec := range registry.Decoders(scheme) {
		resources = append(resources, cacher.Resource{Prefix: prefix, Decoder: dec})
	}
	cache := cacher.New(etcd3.New(client), cacher.Config{Resources: resources, Logger: c.log.With("component", "watch-cache")})
	defer cache.Close()
	var store storage.Interface = cache
	reg, err := registry.New(registry.Config{Storage: store, Scheme: scheme, Hooks: hooks(), ServiceCIDR: c.cfg.ServiceCIDR})
	if err != nil {
		return err
	}
	if err := reg.EnsureSystemNamespaces(ctx); err != nil {
		return err
	}
	docs, err := openapi.New(scheme, openapiResources(reg))
	if err != nil {
		return fmt.Errorf("openapi: %w", err)
	}

	bundle, err := pki.Load(filepath.Join(c.cfg.DataDir, "pki"), []string{c.cfg.BindAddress}, time.Now())
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	joinToken, err := pki.LoadOrCreateToken(filepath.Join(c.cfg.DataDir, "pki", "node.token"))
	if err != nil {
		return fmt.Errorf("join token: %w", err)
	}
	c.pods = c.newPodRouter(reg, bundle)
	api, err := apiserver.New(apiserver.Config{
		Registry: reg,
		OpenAPI:  docs,
		Authenticate: apiserver.TokenAuthenticator(map[string]apiserver.User{
			bundle.AdminAuth: {Name: "admin", Groups: []string{"system:masters", "system:authenticated"}},
			joinToken:        {Name: "system:node-bootstrap", Groups: []string{"system:nodes", "system:authenticated"}},
		}),
		Logger:          c.log.With("component", "apiserver"),
		Version:         buildinfo.Info(),
		PodSubresources: c.pods,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(c.cfg.BindAddress, strconv.Itoa(c.cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	tlsLn := tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{bundle.Serving},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	})
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(c.log.Handler(), slog.LevelDebug)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(tlsLn) }()

	host := c.cfg.BindAddress
	if ip := net.ParseIP(host); ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	url := "https://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	kubeconfig, err := pki.Kubeconfig(url, bundle.CAPEM, bundle.AdminAuth)
	if err != nil {
		return err
	}
	if err := c.waitServing(ctx, url, bundle); err != nil {
		return err
	}
	if err := reg.EnsureKubernetesService(ctx, host, ln.Addr().(*net.TCPAddr).Port); err != nil {
		return err
	}
	if c.cfg.DNSPort > 0 {
		ip := reg.DNSServiceIP()
		port, err := freeDNSPort(ip, c.cfg.DNSPort)
		if err != nil {
			return fmt.Errorf("cluster DNS: %w", err)
		}
		if port != c.cfg.DNSPort {
			c.log.Warn("cluster DNS port taken (another skiff server on this machine?); using another", "wanted", c.cfg.DNSPort, "port", port)
		}
		if err := reg.EnsureDNSService(ctx, ip, port); err != nil {
			return err
		}
		c.dnsAddr = net.JoinHostPort(ip, strconv.Itoa(port))
	}
	if err := pki.WriteFileAtomic(KubeconfigPath(c.cfg.DataDir), kubeconfig, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	if err := pki.WriteFileAtomic(TokenPath(c.cfg.DataDir), []byte(joinToken+"\n"), 0o600); err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	c.mu.Lock()
	c.url = url
	c.mu.Unlock()
	close(c.ready)
	c.log.Info("skiff server ready", "url", url, "after", time.Since(start).Round(time.Millisecond), "kubeconfig", KubeconfigPath(c.cfg.DataDir))

	ctrlCtx, stopControllers := context.WithCancel(ctx)
	defer stopControllers()
	// The controllers, scheduler, agent, proxy and DNS reach the API
	// server in-process: the same requests and authentication as over
	// the socket, without the socket, TLS and HTTP/2 framing.
	waitControllers, err := c.runControllers(ctrlCtx, &rest.Config{Host: url, BearerToken: bundle.AdminAuth,
		Transport: &inproc.Transport{Handler: api}})
	if err != nil {
		return err
	}
	defer waitControllers()

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}
	stopControllers()
	waitControllers()

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	c.pods.closeIdle()
	return nil
}

// newPodRouter reads pods and nodes from the registry, as kube-apiserver
// reads them from its own storage to find a pod's kubelet.
func (c *ControlPlane) newPodRouter(reg *registry.Registry, b *pki.Bundle) *podRouter {
	// The local agent's node, if one runs in this process: with
	// --disable-agent a joined agent may well have the server's node name.
	localNode := c.cfg.NodeName
	if c.cfg.DisableAgent || c.cfg.ControllersSet && !slices.Contains(c.cfg.Controllers, "agent") {
		localNode = ""
	}
	pods := reg.Store(corev1.SchemeGroupVersion.WithResource("pods"))
	nodes := reg.Store(corev1.SchemeGroupVersion.WithResource("nodes"))
	return &podRouter{
		getPod: func(ctx context.Context, ns, name string) (*corev1.Pod, error) {
			obj, err := pods.Get(ctx, ns, name)
			if err != nil {
				return nil, err
			}
			pod, ok := obj.(*corev1.Pod)
			if !ok {
				return nil, fmt.Errorf("pods store returned %T", obj)
			}
			return pod, nil
		},
		getNode: func(ctx context.Context, name string) (*corev1.Node, error) {
			obj, err := nodes.Get(ctx, "", name)
			if err != nil {
				return nil, err
			}
			node, ok := obj.(*corev1.Node)
			if !ok {
				return nil, fmt.Errorf("nodes store returned %T", obj)
			}
			return node, nil
		},
		clientCert: b.KubeletClient,
		log:        c.log.With("component", "pod-proxy"),
		localNode:  localNode,
	}
}

// waitServing checks that the API answers over TLS before the kubeconfig
// is published.
func (c *ControlPlane) waitServing(ctx context.Context, url string, b *pki.Bundle) error {
	cfg := &rest.Config{Host: url, TLSClientConfig: rest.TLSClientConfig{CAData: b.CAPEM}}
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/readyz", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("API server did not become ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startEtcd starts the embedded etcd, or connects to --etcd-servers.
func (c *ControlPlane) startEtcd(ctx context.Context) (*clientv3.Client, func(), error) {
	if len(c.cfg.EtcdServers) > 0 {
		cl, err := clientv3.New(clientv3.Config{Endpoints: c.cfg.EtcdServers, DialTimeout: 5 * time.Second, Context: ctx})
		if err != nil {
			return nil, nil, fmt.Errorf("connect to etcd %v: %w", c.cfg.EtcdServers, err)
		}
		return cl, func() { cl.Close() }, nil
	}
	e, err := embedetcd.Start(ctx, embedetcd.Config{Dir: filepath.Join(c.cfg.DataDir, "etcd"), Logger: c.log.With("component", "etcd")})
	if err != nil {
		return nil, nil, fmt.Errorf("embedded etcd: %w", err)
	}
	return e.Client(), func() { e.Close() }, nil
}

// hooks are the defaulting and validation every write goes through.
func hooks() registry.Hooks {
	return registry.Hooks{
		Default:              defaulting.Default,
		ValidateCreate:       validation.ValidateCreate,
		ValidateUpdate:       validation.ValidateUpdate,
		ValidateStatusUpdate: validation.ValidateStatusUpdate,
	}
}

// openapiResources describes the served kinds for the OpenAPI documents.
func openapiResources(reg *registry.Registry) []openapi.Resource {
	var out []openapi.Resource
	for _, k := range reg.Kinds() {
		r := openapi.Resource{GVK: k.GVK, Resource: k.Resource, Namespaced: k.Namespaced,
			Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}}
		if k.HasStatus {
			r.Subresources = append(r.Subresources, "status")
		}
		if k.HasScale {
			r.Subresources = append(r.Subresources, "scale")
		}
		if k.Resource == "pods" && k.GVK.Group == "" {
			r.Subresources = append(r.Subresources, "binding", "eviction", "log", "exec", "attach", "portforward")
		}
		out = append(out, r)
	}
	return out
}

// freeDNSPort returns port if both UDP and TCP are free on ip, else a port
// free for both, so that two servers on one machine never collide.
func freeDNSPort(ip string, port int) (int, error) {
	for attempt := 0; attempt < 20; attempt++ {
		tl, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			port = 0
			tl, err = net.Listen("tcp", net.JoinHostPort(ip, "0"))
			if err != nil {
				return 0, err
			}
		}
		got := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(got)))
		tl.Close()
		if err == nil {
			ul.Close()
			return got, nil
		}
		port = 0
	}
	return 0, errors.New("no port free for both UDP and TCP")
}
