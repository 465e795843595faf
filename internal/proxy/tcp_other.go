//go:build !linux

package proxy

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// tcpPath is the portable TCP data path: two goroutines per connection,
// io.Copy each way.
type tcpPath struct {
	dialer net.Dialer
	conns  connSet
}

func (t *tcpPath) start(p *Proxier) error {
	// No TCP keep-alive on either leg: it costs four setsockopt calls
	// per socket, and the peers' own keep-alives already cover the
	// connection end to end on one machine.
	t.dialer = net.Dialer{Timeout: p.cfg.DialTimeout, KeepAlive: -1}
	return nil
}

// closeAll closes every proxied connection (Run, once the listeners are
// closed).
func (t *tcpPath) closeAll() { t.conns.closeAll() }

// tcpListener accepts connections on one service address.
type tcpListener struct {
	key    listenKey
	ln     *net.TCPListener
	target atomic.Pointer[balancer]
}

func (l *tcpListener) setTarget(b *balancer) { l.target.Store(b) }
func (l *tcpListener) close()                { l.ln.Close() }

func (p *Proxier) listenTCP(lk listenKey, b *balancer) (listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(p.runCtx, "tcp", lk.Addr.String())
	if err != nil {
		return nil, err
	}
	l := &tcpListener{key: lk, ln: ln.(*net.TCPListener)}
	l.setTarget(b)
	p.wg.Go(func() { p.serveTCP(l) })
	return l, nil
}

// serveTCP accepts until the listener is closed.
func (p *Proxier) serveTCP(l *tcpListener) {
	var backoff time.Duration
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = nextBackoff(backoff)
			p.log.Warn("accept", "listener", l.key.String(), "err", err, "retry", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-p.stopping:
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		p.wg.Go(func() { p.handleTCP(l, c) })
	}
}

// handleTCP connects c to an endpoint and copies both ways until both
// sides have closed.
func (p *Proxier) handleTCP(l *tcpListener, c *net.TCPConn) {
	b := l.target.Load()
	var client netip.Addr
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		client = a.AddrPort().Addr().Unmap()
	}
	var triedBuf [4]*endpoint
	tried := triedBuf[:0]
	var backend *net.TCPConn
	for b != nil && len(tried) < p.cfg.DialAttempts {
		ep := b.pick(client, tried)
		if ep == nil {
			break
		}
		bc, err := p.tcp.dialer.DialContext(p.runCtx, "tcp", ep.str)
		if err == nil {
			backend = bc.(*net.TCPConn)
			break
		}
		p.log.Debug("endpoint connect failed", "listener", l.key.String(), "endpoint", ep.str, "err", err)
		tried = append(tried, ep)
	}
	if backend == nil {
		// No endpoint, or none answered: refuse at once with a reset
		// rather than let the client wait.
		reset(c)
		return
	}
	if !p.tcp.conns.add(c, backend) {
		reset(c)
		reset(backend)
		return
	}
	defer p.tcp.conns.remove(c, backend)

	done := make(chan struct{})
	go func() {
		defer close(done)
		pipe(backend, c)
	}()
	pipe(c, backend)
	<-done
	c.Close()
	backend.Close()
}

// pipe copies src to dst until src ends. io.Copy between two TCP
// connections is splice(2) where the system has it. A clean end of src
// is passed on as a half-close; an error (reset, or the other
// direction's teardown) resets both, so that neither peer waits for data
// that will not come.
func pipe(dst, src *net.TCPConn) {
	if _, err := io.Copy(dst, src); err != nil {
		reset(dst)
		reset(src)
		return
	}
	_ = dst.CloseWrite()
}

// reset closes c with an RST instead of a FIN.
func reset(c *net.TCPConn) {
	_ = c.SetLinger(0)
	_ = c.Close()
}

// connSet holds the proxied TCP connections, so that Run can close them.
type connSet struct {
	mu     sync.Mutex
	conns  map[*net.TCPConn]struct{}
	closed bool
}

// add registers a connection pair; false once Run is closing everything.
func (s *connSet) add(a, b *net.TCPConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = map[*net.TCPConn]struct{}{}
	}
	s.conns[a] = struct{}{}
	s.conns[b] = struct{}{}
	return true
}

func (s *connSet) remove(a, b *net.TCPConn) {
	s.mu.Lock()
	delete(s.conns, a)
	delete(s.conns, b)
	s.mu.Unlock()
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}
