package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// indexService indexes EndpointSlices by "namespace/service".
const indexService = "proxy.service"

// Retry of a service whose listeners could not all be opened: exponential
// from retryBase, at most retryMax apart (an address freed by another
// service, or by another process, is picked up within that).
const (
	retryBase = 100 * time.Millisecond
	retryMax  = 30 * time.Second
)

// Proxier is the userspace service dataplane of one node.
type Proxier struct {
	cfg     Config
	nodeIPs []netip.Addr
	log     *slog.Logger

	services corelisters.ServiceLister
	slices   cache.Indexer
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]

	udpBufs sync.Pool
	tcp     tcpPath        // the TCP data path (tcp_*.go)
	wg      sync.WaitGroup // every listener, loop and connection goroutine

	// Set by Run before any listener exists.
	runCtx   context.Context
	stopping <-chan struct{}

	// state is owned by the single sync worker (and by Run once the
	// worker has ended).
	state map[string]*serviceState
	// failing remembers listeners whose bind failed, to warn once.
	failing map[listenKey]bool
}

// serviceState is what the proxy holds for one service.
type serviceState struct {
	targets   map[targetKey]*balancer
	listeners map[listenKey]heldListener
}

type heldListener struct {
	target targetKey
	l      listener
}

// listener is a TCP or UDP service socket.
type listener interface {
	setTarget(*balancer)
	close()
}

// New builds a proxier fed by the factory's service and EndpointSlice
// informers (an index is added here; the caller starts the factory).
func New(cfg Config, f informers.SharedInformerFactory, logger *slog.Logger) (*Proxier, error) {
	if f == nil {
		return nil, errors.New("proxy: an informer factory is required")
	}
	cfg, nodeIPs, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	svcInf := f.Core().V1().Services()
	sliceInf := f.Discovery().V1().EndpointSlices().Informer()
	err = sliceInf.AddIndexers(cache.Indexers{indexService: func(obj any) ([]string, error) {
		if key := sliceServiceKey(obj); key != "" {
			return []string{key}, nil
		}
		return nil, nil
	}})
	if err != nil {
		return nil, fmt.Errorf("proxy: endpointslice index: %w", err)
	}
	p := &Proxier{
		cfg:      cfg,
		nodeIPs:  nodeIPs,
		log:      logger,
		services: svcInf.Lister(),
		slices:   sliceInf.GetIndexer(),
		synced:   []cache.InformerSynced{svcInf.Informer().HasSynced, sliceInf.HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](retryBase, retryMax),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "proxy"}),
		udpBufs: sync.Pool{New: func() any { b := make([]byte, maxDatagram); return &b }},
		state:   map[string]*serviceState{},
		failing: map[listenKey]bool{},
	}
	if _, err := svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.enqueueService,
		UpdateFunc: func(_, cur any) { p.enqueueService(cur) },
		DeleteFunc: p.enqueueService,
	}); err != nil {
		return nil, fmt.Errorf("proxy: service handler: %w", err)
	}
	if _, err := sliceInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: p.enqueueSlice,
		UpdateFunc: func(old, cur any) {
			// A slice relabelled to another service concerns both.
			p.enqueueSlice(old)
			p.enqueueSlice(cur)
		},
		DeleteFunc: p.enqueueSlice,
	}); err != nil {
		return nil, fmt.Errorf("proxy: endpointslice handler: %w", err)
	}
	return p, nil
}

func (p *Proxier) enqueueService(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		p.queue.Add(key)
	}
}

func (p *Proxier) enqueueSlice(obj any) {
	if key := sliceServiceKey(obj); key != "" {
		p.queue.Add(key)
	}
}

// sliceServiceKey is "namespace/service" of a slice (or a tombstone of
// one), "" when it belongs to no service.
func sliceServiceKey(obj any) string {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*discovery.EndpointSlice)
	if !ok || s.Labels[discovery.LabelServiceName] == "" {
		return ""
	}
	return s.Namespace + "/" + s.Labels[discovery.LabelServiceName]
}

// Run waits for the informer caches and keeps the dataplane in line with
// the API until ctx ends. It returns after every listener and every
// proxied connection is closed and their goroutines have ended.
func (p *Proxier) Run(ctx context.Context) error {
	defer p.queue.ShutDown()
	p.runCtx = ctx
	p.stopping = ctx.Done()
	p.log.Info("starting", "nodeIPs", p.cfg.NodeIPs)
	if !cache.WaitForCacheSync(ctx.Done(), p.synced...) {
		return nil // ctx ended first
	}
	if err := p.tcp.start(p); err != nil {
		p.wg.Wait()
		return err
	}
	var worker sync.WaitGroup
	worker.Go(func() {
		for p.processNext(ctx) {
		}
	})
	<-ctx.Done()
	p.queue.ShutDown()
	worker.Wait()

	for key := range p.state {
		p.teardown(key)
	}
	p.tcp.closeAll()
	p.wg.Wait()
	p.log.Info("stopped")
	return nil
}

func (p *Proxier) processNext(ctx context.Context) bool {
	key, quit := p.queue.Get()
	if quit {
		return false
	}
	defer p.queue.Done(key)
	if err := p.sync(key); err != nil && ctx.Err() == nil {
		p.queue.AddRateLimited(key)
		return true
	}
	p.queue.Forget(key)
	return true
}

// sync brings one service's listeners and balancers in line with its
// plan. Other services are not touched.
func (p *Proxier) sync(key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not ours to retry
	}
	svc, err := p.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		p.teardown(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get service %s: %w", key, err)
	}
	objs, err := p.slices.ByIndex(indexService, key)
	if err != nil {
		return fmt.Errorf("slices of %s: %w", key, err)
	}
	slices := make([]*discovery.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discovery.EndpointSlice); ok {
			slices = append(slices, s)
		}
	}
	return p.apply(key, planService(svc, slices, p.nodeIPs, p.cfg.NodeName))
}

// apply makes the state of service key match want. Balancers are updated
// before listeners open, so that a new listener never serves a stale
// endpoint list.
func (p *Proxier) apply(key string, want plan) error {
	st := p.state[key]
	if st == nil {
		if len(want.Listeners) == 0 {
			return nil
		}
		st = &serviceState{targets: map[targetKey]*balancer{}, listeners: map[listenKey]heldListener{}}
		p.state[key] = st
	}
	for tk, t := range want.Targets {
		b := st.targets[tk]
		if b == nil {
			b = newBalancer(p.cfg.Now)
			st.targets[tk] = b
		}
		b.update(t)
	}
	have := make(map[listenKey]targetKey, len(st.listeners))
	for lk, h := range st.listeners {
		have[lk] = h.target
	}
	d := diffListeners(have, want.Listeners)
	for _, lk := range d.Close {
		st.listeners[lk].l.close()
		delete(st.listeners, lk)
		p.log.Info("stopped listening", "service", key, "listener", lk.String())
	}
	for _, lk := range d.Keep {
		tk := want.Listeners[lk]
		st.listeners[lk].l.setTarget(st.targets[tk])
		st.listeners[lk] = heldListener{target: tk, l: st.listeners[lk].l}
	}
	var errs []error
	for _, lk := range d.Open {
		tk := want.Listeners[lk]
		l, err := p.listen(lk, st.targets[tk])
		if err != nil {
			if !p.failing[lk] {
				p.failing[lk] = true
				p.log.Warn("cannot listen; will retry", "service", key, "listener", lk.String(), "err", err)
			}
			errs = append(errs, err)
			continue
		}
		delete(p.failing, lk)
		st.listeners[lk] = heldListener{target: tk, l: l}
		p.log.Info("listening", "service", key, "listener", lk.String())
	}
	for tk, b := range st.targets {
		if _, ok := want.Targets[tk]; !ok {
			b.close()
			delete(st.targets, tk)
		}
	}
	if len(st.listeners) == 0 && len(errs) == 0 {
		p.teardown(key)
	}
	return errors.Join(errs...)
}

// teardown closes every listener of service key. Connections already
// proxied keep running (as conntrack entries outlive kube-proxy's rules).
func (p *Proxier) teardown(key string) {
	st := p.state[key]
	if st == nil {
		return
	}
	for lk, h := range st.listeners {
		h.l.close()
		p.log.Info("stopped listening", "service", key, "listener", lk.String())
	}
	for _, b := range st.targets {
		b.close()
	}
	delete(p.state, key)
}

// listen opens one service socket and starts serving it.
func (p *Proxier) listen(lk listenKey, b *balancer) (listener, error) {
	switch lk.Proto {
	case corev1.ProtocolTCP:
		return p.listenTCP(lk, b)
	case corev1.ProtocolUDP:
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(lk.Addr))
		if err != nil {
			return nil, err
		}
		l := &udpListener{key: lk, conn: conn}
		l.setTarget(b)
		p.wg.Go(func() { p.serveUDP(l) })
		return l, nil
	}
	return nil, fmt.Errorf("protocol %s not proxied", lk.Proto)
}
