package proxy

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// tcpListener accepts connections on one service address.
type tcpListener struct {
	key    listenKey
	ln     *net.TCPListener
	target atomic.Pointer[balancer]
}

func (l *tcpListener) setTarget(b *balancer) { l.target.Store(b) }
func (l *tcpListener) close()                { l.ln.Close() }

// serveTCP accepts until the listener is closed.
func (p *Proxier) serveTCP(l *tcpListener) {
	var backoff time.Duration
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as
			// net/http does rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
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
		bc, err := p.dialer.DialContext(p.runCtx, "tcp", ep.str)
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
	if !p.conns.add(c, backend) {
		reset(c)
		reset(backend)
		return
	}
	defer p.conns.remove(c, backend)

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
// connections is splice(2) on Linux. A clean end of src is passed on as
// a half-close; an error (reset, or the other direction's teardown) resets
// both, so that neither peer waits for data that will not come.
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
