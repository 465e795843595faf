package proxy

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// udpListener forwards datagrams from one service address.
type udpListener struct {
	key    listenKey
	conn   *net.UDPConn
	target atomic.Pointer[balancer]

	mu     sync.Mutex // guards assocs and closed
	assocs map[netip.AddrPort]*udpAssoc
	closed bool
}

// udpAssoc is one client address's association with an endpoint: a
// socket connected to the endpoint, whose replies go back to the client
// from the service address.
type udpAssoc struct {
	client netip.AddrPort
	ep     *endpoint
	b      *balancer
	conn   *net.UDPConn
	last   atomic.Int64 // unix nanoseconds of the last datagram either way
}

func (l *udpListener) setTarget(b *balancer) { l.target.Store(b) }

// close stops the listener and every association.
func (l *udpListener) close() {
	l.mu.Lock()
	l.closed = true
	assocs := l.assocs
	l.assocs = nil
	l.mu.Unlock()
	l.conn.Close()
	for _, a := range assocs {
		a.conn.Close()
	}
}

// serveUDP reads client datagrams until the listener is closed. One
// buffer serves the whole loop.
func (p *Proxier) serveUDP(l *udpListener) {
	buf := make([]byte, maxDatagram)
	for {
		n, client, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors reported on the socket
		}
		a := p.udpAssoc(l, client)
		if a == nil {
			continue // no endpoint: dropped
		}
		a.last.Store(time.Now().UnixNano())
		_, _ = a.conn.Write(buf[:n])
	}
}

// udpAssoc finds or makes the association of client; nil when the
// service has no endpoint.
func (p *Proxier) udpAssoc(l *udpListener, client netip.AddrPort) *udpAssoc {
	l.mu.Lock()
	a := l.assocs[client]
	b := l.target.Load()
	if a != nil && (a.ep.gone.Load() || a.b != b) {
		// Its endpoint left (or the port now has another balancer): the
		// next datagram picks again, as after a conntrack flush.
		delete(l.assocs, client)
		a.conn.Close()
		a = nil
	}
	l.mu.Unlock()
	if a != nil {
		return a
	}
	if b == nil {
		return nil
	}
	var triedBuf [4]*endpoint
	tried := triedBuf[:0]
	var conn *net.UDPConn
	var ep *endpoint
	for len(tried) < p.cfg.DialAttempts {
		if ep = b.pick(client.Addr().Unmap(), tried); ep == nil {
			return nil
		}
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ep.addr))
		if err == nil {
			conn = c
			break
		}
		tried = append(tried, ep)
	}
	if conn == nil {
		return nil
	}
	a = &udpAssoc{client: client, ep: ep, b: b, conn: conn}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		conn.Close()
		return nil
	}
	if l.assocs == nil {
		l.assocs = map[netip.AddrPort]*udpAssoc{}
	}
	l.assocs[client] = a
	l.mu.Unlock()
	p.wg.Go(func() { p.udpReplies(l, a) })
	return a
}

// udpReplies sends the endpoint's replies to the client until the
// association has been idle for the timeout or is closed. Idleness is
// measured on the wall clock, as socket deadlines are.
func (p *Proxier) udpReplies(l *udpListener, a *udpAssoc) {
	bp := p.udpBufs.Get().(*[]byte)
	defer p.udpBufs.Put(bp)
	buf := *bp
	idle := p.cfg.UDPIdleTimeout
	defer func() {
		l.mu.Lock()
		if l.assocs[a.client] == a {
			delete(l.assocs, a.client)
		}
		l.mu.Unlock()
		a.conn.Close()
	}()
	for {
		last := time.Unix(0, a.last.Load())
		if time.Since(last) >= idle {
			return
		}
		_ = a.conn.SetReadDeadline(last.Add(idle))
		n, err := a.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // deadline (checked above) or ICMP refusal
		}
		a.last.Store(time.Now().UnixNano())
		if _, err := l.conn.WriteToUDPAddrPort(buf[:n], a.client); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}
