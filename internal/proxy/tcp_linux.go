//go:build linux

package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The Linux TCP data path. Through Go's net package a proxied connection
// cost two goroutines, two registrations with Go's poller (each added and
// deleted), getsockname/getpeername calls, a pipe pair per direction for
// splice, a parked goroutine per wait and some thirty allocations: 30-50
// µs of CPU per connection beyond the kernel's own work for the second
// TCP connection, which kept a new connection per request near 0.6x of
// going straight to the pod (docs/benchmarks.md). Here a few event loops
// own raw non-blocking sockets: accept4, socket, connect, read, send,
// shutdown and close, and per connection two small allocations (the
// socket addresses) and no goroutine.
//
// A loop goroutine parks in Go's poller on its epoll descriptor (an
// epoll set is itself pollable), so it holds no thread while idle and is
// scheduled like any other goroutine. Everything a loop holds -
// connections, listeners, its queue of connects in progress - is touched
// by that goroutine only; others talk to it through commands (loopCmd)
// and an eventfd that wakes it.
//
// Data is copied with read/send through one buffer per loop: for the
// small messages of request/response traffic splice would take as many
// calls plus a pipe (two descriptors) per direction; a copy of a few
// hundred bytes costs less than that. A receiver that cannot keep up
// makes the loop keep only what it could not write yet.

// maxLoops bounds the event loops: one per CPU up to this.
const maxLoops = 8

// epoll flags as the uint32 of EpollEvent.Events.
const (
	evIn    = uint32(syscall.EPOLLIN)
	evOut   = uint32(syscall.EPOLLOUT)
	evErr   = uint32(syscall.EPOLLERR)
	evHup   = uint32(syscall.EPOLLHUP)
	evRdHup = uint32(syscall.EPOLLRDHUP)
	evET    = uint32(syscall.EPOLLET & 0xffffffff)
)

// An epoll registration carries a token: EpollEvent.Fd is a listener id
// or a connection slot, EpollEvent.Pad the slot's generation (shifted
// left by 2) and one of these kinds. A generation that no longer matches
// is an event for a connection already gone.
const (
	kindWake     = 0
	kindListener = 1
	kindClient   = 2 // kindClient + side: 0 client, 1 backend
	kindBackend  = 3
)

// tcpPath is the set of event loops.
type tcpPath struct {
	loops  []*tcpLoop
	nextID atomic.Int32 // listener ids
}

// start opens the event loops; they run until closeAll.
func (t *tcpPath) start(p *Proxier) error {
	for range min(runtime.GOMAXPROCS(0), maxLoops) {
		lp, err := newTCPLoop(p)
		if err != nil {
			t.closeAll()
			return fmt.Errorf("proxy: tcp event loop: %w", err)
		}
		t.loops = append(t.loops, lp)
		p.wg.Go(lp.run)
	}
	return nil
}

// closeAll stops the loops, which close every proxied connection. Run
// calls it after every listener is closed.
func (t *tcpPath) closeAll() {
	for _, lp := range t.loops {
		lp.post(loopCmd{op: cmdStop})
	}
}

// tcpListener is one service address. One loop accepts on it and drives
// its connections: listeners are spread over the loops, not shared, so
// that a new connection wakes one loop only (EPOLLEXCLUSIVE does not hold
// for epoll sets that are themselves polled, as the loops' are).
type tcpListener struct {
	key    listenKey
	fd     int
	id     int32
	loop   *tcpLoop
	target atomic.Pointer[balancer]
}

func (l *tcpListener) setTarget(b *balancer) { l.target.Store(b) }

// close waits until the loop has forgotten the socket, then closes it,
// so that the loop never accepts on a descriptor number that has since
// been reused.
func (l *tcpListener) close() {
	var wg sync.WaitGroup
	wg.Add(1)
	if !l.loop.post(loopCmd{op: cmdForget, l: l, done: &wg}) {
		wg.Done()
	}
	wg.Wait()
	_ = syscall.Close(l.fd)
}

// listenTCP opens a service socket and hands it to a loop.
func (p *Proxier) listenTCP(lk listenKey, b *balancer) (listener, error) {
	fd, err := listenSocket(lk.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen tcp %s: %w", lk.Addr, err)
	}
	id := p.tcp.nextID.Add(1)
	l := &tcpListener{key: lk, fd: fd, id: id, loop: p.tcp.loops[int(id)%len(p.tcp.loops)]}
	l.setTarget(b)
	errc := make(chan error, 1)
	if !l.loop.post(loopCmd{op: cmdWatch, l: l, errc: errc}) {
		errc <- errors.New("proxy stopping")
	}
	if err := <-errc; err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("listen tcp %s: %w", lk.Addr, err)
	}
	return l, nil
}

func listenSocket(ap netip.AddrPort) (int, error) {
	family, sa := sockaddrOf(ap)
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	// SO_REUSEADDR as every Go listener: the address can be bound again
	// while connections of an earlier listener are in TIME_WAIT.
	// TCP_NODELAY is inherited by every accepted socket (Linux copies
	// the listener's options), one setsockopt less per connection.
	for _, o := range [][2]int{{syscall.SOL_SOCKET, syscall.SO_REUSEADDR}, {syscall.IPPROTO_TCP, syscall.TCP_NODELAY}} {
		if err := syscall.SetsockoptInt(fd, o[0], o[1], 1); err != nil {
			syscall.Close(fd)
			return -1, os.NewSyscallError("setsockopt", err)
		}
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	// The kernel caps the backlog at net.core.somaxconn.
	if err := syscall.Listen(fd, 65535); err != nil {
		syscall.Close(fd)
		return -1, os.NewSyscallError("listen", err)
	}
	return fd, nil
}

// sockaddrOf is the address family and socket address of ap.
func sockaddrOf(ap netip.AddrPort) (int, syscall.Sockaddr) {
	a := ap.Addr().Unmap()
	if a.Is4() {
		return syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	return syscall.AF_INET6, &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
}

// sockaddrAddr is the IP address of sa.
func sockaddrAddr(sa syscall.Sockaddr) netip.Addr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrFrom4(a.Addr)
	case *syscall.SockaddrInet6:
		return netip.AddrFrom16(a.Addr).Unmap()
	}
	return netip.Addr{}
}

// loopCmd is a request to a loop from another goroutine.
type loopCmd struct {
	op   int
	l    *tcpListener
	id   int32           // cmdRetry: the listener
	done *sync.WaitGroup // cmdForget: Done once forgotten
	errc chan<- error    // cmdWatch: the outcome
}

const (
	cmdWatch  = iota // start accepting on l
	cmdForget        // stop accepting on l
	cmdRetry         // accept on listener id again after an accept error
	cmdTimer         // the dial timer fired
	cmdStop          // close everything and end
)

// tcpLoop is one event loop.
type tcpLoop struct {
	p    *Proxier
	epfd int
	ep   *os.File // epfd, for Go's poller
	rc   syscall.RawConn
	wake int // eventfd in the epoll set

	mu      sync.Mutex // guards cmds and stopped
	cmds    []loopCmd
	stopped bool

	// Owned by the loop goroutine.
	stopping bool
	cmdBuf   []loopCmd
	lns      map[int32]*loopListener
	conns    []*tcpConn // by slot
	free     []int32    // free slots
	again    []connSide // connections cut off by the copy budget
	againBuf []connSide
	dialing  []dialRef // connects in progress, oldest first from dhead
	dhead    int
	timer    *time.Timer // fires at the oldest connect's deadline
	timerOn  bool
	buf      []byte
	evs      []syscall.EpollEvent
}

// loopListener is a loop's registration of a listener.
type loopListener struct {
	l       *tcpListener
	backoff time.Duration
	retry   *time.Timer
}

// ioBufSize is the loop's copy buffer; also the most one read moves.
const ioBufSize = 64 << 10

func newTCPLoop(p *Proxier) (*tcpLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wfd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("eventfd2", errno)
	}
	lp := &tcpLoop{
		p:    p,
		epfd: epfd,
		wake: int(wfd),
		lns:  map[int32]*loopListener{},
		buf:  make([]byte, ioBufSize),
		evs:  make([]syscall.EpollEvent, 256),
	}
	fail := func(op string, err error) (*tcpLoop, error) {
		syscall.Close(lp.wake)
		if lp.ep != nil {
			lp.ep.Close()
		} else {
			syscall.Close(epfd)
		}
		return nil, os.NewSyscallError(op, err)
	}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, lp.wake, &syscall.EpollEvent{Events: evIn, Pad: kindWake}); err != nil {
		return fail("epoll_ctl", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		return fail("fcntl", err)
	}
	lp.ep = os.NewFile(uintptr(epfd), "proxy-epoll")
	if lp.rc, err = lp.ep.SyscallConn(); err != nil {
		return fail("epoll", err)
	}
	lp.timer = time.AfterFunc(time.Hour, func() { lp.post(loopCmd{op: cmdTimer}) })
	lp.timer.Stop()
	return lp, nil
}

// post queues a command and wakes the loop; false once the loop has
// ended.
func (lp *tcpLoop) post(c loopCmd) bool {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if lp.stopped {
		return false
	}
	lp.cmds = append(lp.cmds, c)
	if len(lp.cmds) == 1 { // else a wake-up is already pending
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		_, _ = syscall.Write(lp.wake, one[:])
	}
	return true
}

// run handles events until the loop is stopped.
func (lp *tcpLoop) run() {
	defer lp.exit()
	// Read calls poll whenever the epoll set is readable, and returns
	// once poll reports true.
	if err := lp.rc.Read(func(uintptr) bool { return lp.poll() }); err != nil {
		lp.p.log.Error("tcp event loop ended", "err", err)
	}
}

// poll handles the ready events; true when the loop is to end.
func (lp *tcpLoop) poll() bool {
	for {
		n, err := syscall.EpollWait(lp.epfd, lp.evs, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			lp.p.log.Error("epoll_wait", "err", err)
			return true
		}
		for i := range n {
			lp.handle(&lp.evs[i])
		}
		lp.resume()
		if lp.stopping {
			return true
		}
		// Fewer events than room, nothing cut off: the set is drained.
		// An event that comes after the EpollWait above makes the
		// epoll descriptor readable again, so Go's poller calls poll
		// again.
		if n < len(lp.evs) && len(lp.again) == 0 {
			return false
		}
	}
}

func (lp *tcpLoop) handle(ev *syscall.EpollEvent) {
	switch kind := ev.Pad & 3; kind {
	case kindWake:
		lp.commands()
	case kindListener:
		if ll := lp.lns[ev.Fd]; ll != nil {
			lp.accept(ll)
		}
	default:
		c := lp.conns[ev.Fd]
		if c.tok != ev.Pad&^3 || c.state == connFree {
			return // a connection already closed
		}
		lp.event(c, int(kind-kindClient), ev.Events)
	}
}

func (lp *tcpLoop) commands() {
	var b [8]byte
	_, _ = syscall.Read(lp.wake, b[:]) // resets the counter
	lp.mu.Lock()
	cmds := lp.cmds
	lp.cmds = lp.cmdBuf[:0]
	lp.mu.Unlock()
	for _, c := range cmds {
		switch c.op {
		case cmdWatch:
			ev := syscall.EpollEvent{Events: evIn | evET, Fd: c.l.id, Pad: kindListener}
			err := syscall.EpollCtl(lp.epfd, syscall.EPOLL_CTL_ADD, c.l.fd, &ev)
			if err == nil {
				lp.lns[c.l.id] = &loopListener{l: c.l}
			} else {
				err = os.NewSyscallError("epoll_ctl", err)
			}
			c.errc <- err
		case cmdForget:
			if ll := lp.lns[c.l.id]; ll != nil {
				_ = syscall.EpollCtl(lp.epfd, syscall.EPOLL_CTL_DEL, c.l.fd, nil)
				if ll.retry != nil {
					ll.retry.Stop()
				}
				delete(lp.lns, c.l.id)
			}
			c.done.Done()
		case cmdRetry:
			if ll := lp.lns[c.id]; ll != nil {
				lp.accept(ll)
			}
		case cmdTimer:
			lp.expireDials()
		case cmdStop:
			lp.stopping = true
		}
	}
	clear(cmds)
	lp.cmdBuf = cmds[:0]
}

// accept takes every connection waiting on ll (the registration is
// edge-triggered).
func (lp *tcpLoop) accept(ll *loopListener) {
	for {
		fd, sa, err := syscall.Accept4(ll.l.fd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		switch err {
		case nil:
			ll.backoff = 0
			lp.open(ll.l, fd, sa)
		case syscall.EAGAIN:
			return
		case syscall.EINTR, syscall.ECONNABORTED:
			// A client that gave up while queued: next.
		default:
			// Out of file descriptors and the like: try again later
			// rather than spin (a new connection also wakes us).
			ll.backoff = nextBackoff(ll.backoff)
			lp.p.log.Warn("accept", "listener", ll.l.key.String(), "err", err, "retry", ll.backoff)
			if ll.retry != nil {
				ll.retry.Stop()
			}
			id := ll.l.id
			ll.retry = time.AfterFunc(ll.backoff, func() { lp.post(loopCmd{op: cmdRetry, id: id}) })
			return
		}
	}
}

// exit closes everything the loop holds.
func (lp *tcpLoop) exit() {
	lp.mu.Lock()
	lp.stopped = true
	cmds := lp.cmds
	lp.cmds = nil
	lp.mu.Unlock()
	for _, c := range cmds {
		if c.done != nil {
			c.done.Done()
		}
		if c.errc != nil {
			c.errc <- errors.New("proxy stopping")
		}
	}
	lp.timer.Stop()
	for _, ll := range lp.lns {
		if ll.retry != nil {
			ll.retry.Stop()
		}
	}
	for _, c := range lp.conns {
		if c.state != connFree {
			lp.finish(c)
		}
	}
	syscall.Close(lp.wake)
	lp.ep.Close()
}
