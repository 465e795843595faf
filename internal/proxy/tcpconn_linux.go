//go:build linux

package proxy

import (
	"net/netip"
	"os"
	"syscall"
	"time"
)

// tcpConn is one proxied connection, owned by one loop. fd[0] is the
// client's socket, fd[1] the endpoint's; direction i copies fd[i] to
// fd[1-i]. The struct is reused for later connections of its slot.
type tcpConn struct {
	slot  int32
	tok   int32 // generation << 2, as in the epoll tokens
	state int
	fd    [2]int
	ended [2]bool   // direction i has seen the end of fd[i] and passed it on
	pend  [2][]byte // read from fd[i], not yet written to fd[1-i]
	keep  [2][]byte // pend's buffer, reused
	again [2]bool   // direction i is in the loop's again list

	// While connecting.
	l        *tcpListener
	b        *balancer
	client   netip.Addr
	ep       *endpoint
	attempt  int32
	tried    []*endpoint
	triedBuf [4]*endpoint
}

const (
	connFree = iota
	connDialing
	connOpen
)

// connSide is one direction of a connection (tok: its generation then).
type connSide struct {
	c    *tcpConn
	side int
	tok  int32
}

// dialRef is a connect in progress, for its deadline.
type dialRef struct {
	c        *tcpConn
	tok      int32
	attempt  int32
	deadline time.Time
}

// copyBudget bounds how many buffers one direction moves before the loop
// serves the other connections (it comes back to it in the same round).
const copyBudget = 16

// open starts proxying the accepted socket fd.
func (lp *tcpLoop) open(l *tcpListener, fd int, sa syscall.Sockaddr) {
	c := lp.newConn()
	c.fd = [2]int{fd, -1}
	c.l, c.b, c.client = l, l.target.Load(), sockaddrAddr(sa)
	if !lp.dial(c) {
		lp.refuse(c)
		return
	}
	if !lp.register(c, 0) || !lp.register(c, 1) {
		lp.abort(c)
		return
	}
	lp.dialStarted(c)
}

func (lp *tcpLoop) newConn() *tcpConn {
	var c *tcpConn
	if n := len(lp.free); n > 0 {
		c = lp.conns[lp.free[n-1]]
		lp.free = lp.free[:n-1]
	} else {
		c = &tcpConn{slot: int32(len(lp.conns))}
		lp.conns = append(lp.conns, c)
	}
	c.state = connDialing
	c.tried = c.triedBuf[:0]
	return c
}

// register adds c's socket of side to the epoll set, edge-triggered.
func (lp *tcpLoop) register(c *tcpConn, side int) bool {
	ev := syscall.EpollEvent{Events: evIn | evOut | evRdHup | evET, Fd: c.slot, Pad: c.tok | int32(kindClient+side)}
	if err := syscall.EpollCtl(lp.epfd, syscall.EPOLL_CTL_ADD, c.fd[side], &ev); err != nil {
		lp.p.log.Warn("epoll_ctl", "listener", c.l.key.String(), "err", err)
		return false
	}
	return true
}

// dial starts a connect to the next endpoint; false when none is left.
// The connect is non-blocking: its outcome comes as an event.
func (lp *tcpLoop) dial(c *tcpConn) bool {
	for c.b != nil && len(c.tried) < lp.p.cfg.DialAttempts {
		ep := c.b.pick(c.client, c.tried)
		if ep == nil {
			return false
		}
		fd, err := connectSocket(ep.addr)
		if err == nil {
			c.fd[1], c.ep = fd, ep
			return true
		}
		lp.p.log.Debug("endpoint connect failed", "listener", c.l.key.String(), "endpoint", ep.str, "err", err)
		c.tried = append(c.tried, ep)
	}
	return false
}

func connectSocket(ap netip.AddrPort) (int, error) {
	family, sa := sockaddrOf(ap)
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		syscall.Close(fd)
		return -1, os.NewSyscallError("setsockopt", err)
	}
	switch err := syscall.Connect(fd, sa); err {
	case nil, syscall.EINPROGRESS, syscall.EINTR:
		return fd, nil
	default:
		syscall.Close(fd)
		return -1, os.NewSyscallError("connect", err)
	}
}

// dialStarted queues c's connect for its deadline.
func (lp *tcpLoop) dialStarted(c *tcpConn) {
	d := lp.p.cfg.DialTimeout
	lp.dialing = append(lp.dialing, dialRef{c: c, tok: c.tok, attempt: c.attempt, deadline: time.Now().Add(d)})
	if !lp.timerOn {
		lp.timerOn = true
		lp.timer.Reset(d)
	}
}

// expireDials fails the connects past their deadline and sets the timer
// for the next one. Connects finish in about the order they start, so
// the queue's head is the next deadline.
func (lp *tcpLoop) expireDials() {
	now := time.Now()
	for lp.dhead < len(lp.dialing) {
		d := lp.dialing[lp.dhead]
		if d.c.tok == d.tok && d.c.state == connDialing && d.c.attempt == d.attempt {
			if d.deadline.After(now) {
				break
			}
			lp.dialing[lp.dhead] = dialRef{}
			lp.dhead++
			lp.redial(d.c, syscall.ETIMEDOUT)
			continue
		}
		lp.dialing[lp.dhead] = dialRef{}
		lp.dhead++
	}
	if lp.dhead == len(lp.dialing) {
		lp.dialing, lp.dhead = lp.dialing[:0], 0
		lp.timerOn = false
		return
	}
	if lp.dhead > len(lp.dialing)/2 {
		n := copy(lp.dialing, lp.dialing[lp.dhead:])
		clear(lp.dialing[n:])
		lp.dialing, lp.dhead = lp.dialing[:n], 0
	}
	lp.timer.Reset(lp.dialing[lp.dhead].deadline.Sub(now))
}

// redial gives up on the current endpoint of c and tries the next.
func (lp *tcpLoop) redial(c *tcpConn, err error) {
	lp.p.log.Debug("endpoint connect failed", "listener", c.l.key.String(), "endpoint", c.ep.str, "err", err)
	syscall.Close(c.fd[1])
	c.fd[1] = -1
	c.tried = append(c.tried, c.ep)
	c.ep = nil
	c.attempt++
	if !lp.dial(c) {
		lp.refuse(c)
		return
	}
	if !lp.register(c, 1) {
		lp.abort(c)
		return
	}
	lp.dialStarted(c)
}

// event handles readiness of c's socket of side.
func (lp *tcpLoop) event(c *tcpConn, side int, ev uint32) {
	if c.state == connDialing {
		if side == 0 {
			if ev&(evErr|evHup) != 0 {
				lp.abort(c) // the client reset before we could connect
			}
			// Data or a FIN from the client waits for the endpoint.
			return
		}
		if ev&(evErr|evHup) != 0 {
			lp.redial(c, soError(c.fd[1]))
			return
		}
		if ev&evOut == 0 {
			return
		}
		c.state = connOpen
		c.b, c.l, c.ep, c.tried = nil, nil, nil, c.triedBuf[:0]
		clear(c.triedBuf[:])
		// The client may have spoken already; that edge is spent.
		lp.pump(c, 0, 0)
		if c.state == connOpen && ev&(evIn|evRdHup) != 0 {
			lp.pump(c, 1, ev)
		}
		return
	}
	if ev&(evIn|evRdHup|evHup|evErr) != 0 {
		lp.pump(c, side, ev)
	}
	if c.state == connOpen && ev&evOut != 0 && len(c.pend[1-side]) > 0 {
		lp.pump(c, 1-side, 0)
	}
}

func soError(fd int) error {
	n, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if n == 0 {
		return syscall.ECONNRESET
	}
	return os.NewSyscallError("connect", syscall.Errno(n))
}

// pump copies direction i until its source has nothing more for now, its
// destination is full, or it ends. ev is the event of fd[i] that
// prompted it, 0 when unknown: with a known event that carries no
// hang-up, a short read means the socket is drained (a later arrival is
// a new edge) and saves the read that would say EAGAIN.
func (lp *tcpLoop) pump(c *tcpConn, i int, ev uint32) {
	src, dst := c.fd[i], c.fd[1-i]
	for budget := copyBudget; ; budget-- {
		if len(c.pend[i]) > 0 {
			n, err := send(dst, c.pend[i], false)
			if err == syscall.EAGAIN || err == syscall.EINTR {
				return // EPOLLOUT of dst calls us again
			}
			if err != nil {
				lp.abort(c)
				return
			}
			if c.pend[i] = c.pend[i][n:]; len(c.pend[i]) > 0 {
				return
			}
			c.pend[i] = nil
			ev = 0 // fd[i]'s edge may have been spent meanwhile
		}
		if c.ended[i] {
			return
		}
		if budget == 0 {
			lp.later(c, i)
			return
		}
		n, err := syscall.Read(src, lp.buf)
		switch {
		case err == syscall.EAGAIN:
			return
		case err == syscall.EINTR:
			continue
		case err != nil:
			lp.abort(c)
			return
		case n == 0:
			lp.end(c, i)
			return
		}
		// The event carried the peer's FIN and this read emptied the
		// socket: the next read returns the end, and the FIN we then
		// send can leave in the same segment as this data (one packet
		// and one wake-up of the receiver less).
		more := n < len(lp.buf) && ev&evRdHup != 0
		w, err := send(dst, lp.buf[:n], more)
		if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
			lp.abort(c)
			return
		}
		if w = max(w, 0); w < n {
			c.pend[i] = append(c.keep[i][:0], lp.buf[w:n]...)
			c.keep[i] = c.pend[i]
			return
		}
		if n < len(lp.buf) && ev != 0 && ev&(evRdHup|evHup|evErr) == 0 {
			return
		}
	}
}

// later puts direction i of c on the list served after this round of
// events.
func (lp *tcpLoop) later(c *tcpConn, i int) {
	if !c.again[i] {
		c.again[i] = true
		lp.again = append(lp.again, connSide{c: c, side: i, tok: c.tok})
	}
}

// resume serves the directions cut off by the copy budget.
func (lp *tcpLoop) resume() {
	if len(lp.again) == 0 {
		return
	}
	again := lp.again
	lp.again = lp.againBuf[:0]
	for _, a := range again {
		if a.c.tok == a.tok && a.c.state == connOpen {
			a.c.again[a.side] = false
			lp.pump(a.c, a.side, 0)
		}
	}
	clear(again)
	lp.againBuf = again[:0]
}

// end passes on the end of fd[i]: a half-close of fd[1-i], or, when the
// other direction has ended too, the close of both (nothing is left
// unread on either, so close sends a FIN, not a reset).
func (lp *tcpLoop) end(c *tcpConn, i int) {
	c.ended[i] = true
	if c.ended[1-i] {
		lp.finish(c)
		return
	}
	if err := syscall.Shutdown(c.fd[1-i], syscall.SHUT_WR); err != nil {
		lp.abort(c)
	}
}

// refuse resets the client of a connection that found no endpoint.
func (lp *tcpLoop) refuse(c *tcpConn) {
	resetFD(c.fd[0])
	if c.fd[1] >= 0 {
		syscall.Close(c.fd[1])
	}
	lp.release(c)
}

// abort resets both sides, so that neither peer waits for data that
// will not come.
func (lp *tcpLoop) abort(c *tcpConn) {
	for _, fd := range c.fd {
		if fd >= 0 {
			resetFD(fd)
		}
	}
	lp.release(c)
}

// finish closes both sides.
func (lp *tcpLoop) finish(c *tcpConn) {
	for _, fd := range c.fd {
		if fd >= 0 {
			syscall.Close(fd)
		}
	}
	lp.release(c)
}

// release makes c's slot free. Closing the sockets took them out of the
// epoll set; the new generation makes events already read for them
// stale.
func (lp *tcpLoop) release(c *tcpConn) {
	*c = tcpConn{slot: c.slot, tok: c.tok + 4}
	lp.free = append(lp.free, c.slot)
}

// send writes b to fd, without SIGPIPE; more asks the kernel to hold
// back a partial segment until the next send or shutdown (MSG_MORE).
func send(fd int, b []byte, more bool) (int, error) {
	flags := syscall.MSG_NOSIGNAL
	if more {
		flags |= syscall.MSG_MORE
	}
	return syscall.SendmsgN(fd, b, nil, nil, flags)
}

// resetFD closes fd with an RST instead of a FIN.
func resetFD(fd int) {
	_ = syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
	_ = syscall.Close(fd)
}
