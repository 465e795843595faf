package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// Server is the cluster DNS server.
type Server struct {
	cfg  Config
	zone zoneInfo
	view View
	// synced is nil when the View is not informer-backed.
	synced []cache.InformerSynced
	log    *slog.Logger

	ready chan struct{}
	fwd   *forwarder
	mu    sync.Mutex
	addr  netip.AddrPort
}

// New builds a server fed by the factory's service, EndpointSlice and pod
// informers (indexes are added here; the caller starts the factory).
func New(cfg Config, f informers.SharedInformerFactory, logger *slog.Logger) (*Server, error) {
	if f == nil {
		return nil, errors.New("dns: an informer factory is required")
	}
	v, err := newInformerView(f)
	if err != nil {
		return nil, err
	}
	s, err := NewWithView(cfg, v, logger)
	if err != nil {
		return nil, err
	}
	s.synced = v.synced
	return s, nil
}

// NewWithView builds a server over any View (tests, benchmarks).
func NewWithView(cfg Config, v View, logger *slog.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg: cfg,
		zone: zoneInfo{
			Zone:   strings.ToLower(cfg.Zone),
			TTL:    uint32(cfg.TTL / time.Second),
			NegTTL: uint32(cfg.NegativeTTL / time.Second),
			Serial: uint32(time.Now().Unix()),
		},
		view:  v,
		log:   logger,
		ready: make(chan struct{}),
	}, nil
}

// Ready is closed once the caches are synced and the server listens.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the address served (UDP and TCP), valid after Ready.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr.String()
}

// Run waits for the informer caches, listens on UDP and TCP, and serves
// until ctx ends; it returns after both listeners have stopped.
func (s *Server) Run(ctx context.Context) error {
	if len(s.synced) > 0 && !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return nil // ctx ended first
	}
	pc, l, err := listen(ctx, s.cfg.ListenAddr)
	if err != nil {
		return err
	}
	self := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	self = netip.AddrPortFrom(self.Addr().Unmap(), self.Port())
	upstreams := s.cfg.Upstreams
	if upstreams == nil {
		upstreams, err = resolvConfUpstreams(s.cfg.ResolvConf)
		if err != nil {
			s.log.Warn("no upstream resolvers", "err", err)
		}
	}
	upstreams = withoutSelf(upstreams, self)
	// fwd is set before the serving goroutines start and only read by
	// them afterwards.
	s.fwd = newForwarder(upstreams, s.cfg.ForwardTimeout)
	s.mu.Lock()
	s.addr = self
	s.mu.Unlock()

	udp := &mdns.Server{PacketConn: pc, Handler: s.handler(false)}
	tcp := &mdns.Server{Listener: l, Handler: s.handler(true)}
	errs := make(chan error, 2)
	var started sync.WaitGroup
	started.Add(2)
	udp.NotifyStartedFunc = started.Done
	tcp.NotifyStartedFunc = started.Done
	go func() { errs <- udp.ActivateAndServe() }()
	go func() { errs <- tcp.ActivateAndServe() }()
	started.Wait()
	close(s.ready)
	s.log.Info("serving", "addr", self.String(), "zone", s.zone.Zone, "upstreams", upstreams)

	var first error
	received := 0
	select {
	case <-ctx.Done():
	case first = <-errs:
		received = 1
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = udp.ShutdownContext(shut)
	_ = tcp.ShutdownContext(shut)
	for ; received < 2; received++ {
		<-errs // both serve loops have ended
	}
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("dns: serve: %w", first)
}

// listen binds UDP and then TCP on the same port, retrying when a random
// UDP port is taken on TCP.
func listen(ctx context.Context, addr string) (net.PacketConn, net.Listener, error) {
	var lc net.ListenConfig
	for attempt := 0; ; attempt++ {
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns: listen udp %s: %w", addr, err)
		}
		l, err := lc.Listen(ctx, "tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		_, port, _ := net.SplitHostPort(addr)
		if port != "0" || attempt >= 10 {
			return nil, nil, fmt.Errorf("dns: listen tcp %s: %w", addr, err)
		}
	}
}

func (s *Server) handler(overTCP bool) mdns.Handler {
	return mdns.HandlerFunc(func(w mdns.ResponseWriter, req *mdns.Msg) {
		resp := s.reply(context.Background(), req, overTCP)
		if !overTCP {
			size := uint16(mdns.MinMsgSize)
			if o := req.IsEdns0(); o != nil {
				size = max(o.UDPSize(), mdns.MinMsgSize)
			}
			resp.Truncate(int(size))
		}
		if err := w.WriteMsg(resp); err != nil {
			s.log.Debug("write reply", "err", err)
		}
	})
}

// reply answers one request: in-zone and cluster reverse names from the
// View, everything else through the forwarder.
func (s *Server) reply(ctx context.Context, req *mdns.Msg, overTCP bool) *mdns.Msg {
	if req.Opcode != mdns.OpcodeQuery {
		m := new(mdns.Msg)
		return m.SetRcode(req, mdns.RcodeNotImplemented)
	}
	if len(req.Question) != 1 {
		m := new(mdns.Msg)
		return m.SetRcode(req, mdns.RcodeFormatError)
	}
	q := req.Question[0]
	var resp *mdns.Msg
	if mdns.IsSubDomain(s.zone.Zone, strings.ToLower(q.Name)) {
		resp = answerZone(s.zone, s.view, req)
	} else if q.Qtype == mdns.TypePTR || q.Qtype == mdns.TypeANY {
		if m, ok := answerReverse(s.zone, s.view, req); ok {
			resp = m
		}
	}
	if resp == nil {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.ForwardTimeout*time.Duration(max(len(s.fwd.upstreams), 1)))
		defer cancel()
		return s.fwd.forward(ctx, req, overTCP)
	}
	if o := req.IsEdns0(); o != nil {
		resp.SetEdns0(max(o.UDPSize(), mdns.MinMsgSize), false)
	}
	return resp
}
