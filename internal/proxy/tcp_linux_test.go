//go:build linux

package proxy

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// TestListenerNoDelayInherited: the data path sets TCP_NODELAY on the
// listening socket only and counts on Linux copying it to every accepted
// socket (else small writes to clients could wait for Nagle).
func TestListenerNoDelayInherited(t *testing.T) {
	lfd, err := listenSocket(netip.AddrPortFrom(randomIP(99), 0))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(lfd)
	sa, err := syscall.Getsockname(lfd)
	if err != nil {
		t.Fatal(err)
	}
	a := sa.(*syscall.SockaddrInet4)
	c, err := net.Dial("tcp", netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := syscall.SetNonblock(lfd, false); err != nil {
		t.Fatal(err)
	}
	fd, _, err := syscall.Accept4(lfd, syscall.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if v, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); err != nil || v == 0 {
		t.Fatalf("TCP_NODELAY of an accepted socket: %d, %v", v, err)
	}
}

// TestTCPConnectTimeout: an endpoint that drops the SYN (its accept
// queue is full) is given up after DialTimeout, and the connection goes
// to the next one.
func TestTCPConnectTimeout(t *testing.T) {
	good := httpBackend(t, randomIP(71).String()+":0", "good")
	stuck := netip.AddrPortFrom(randomIP(73), good.Port())
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: int(stuck.Port()), Addr: stuck.Addr().As4()}); err != nil {
		t.Fatal(err)
	}
	// Backlog 0 holds one connection; the queue is then full and later
	// SYNs are dropped, as by an endpoint that does not answer.
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	filler, err := net.DialTimeout("tcp", stuck.String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })

	const timeout = 300 * time.Millisecond
	addr := tcpService(t, Config{DialTimeout: timeout}, good, stuck)
	slow := 0
	for i := range 6 {
		start := time.Now()
		if s, err := get(addr); err != nil || s != "good" {
			t.Fatalf("request %d: %q, %v", i, s, err)
		}
		if d := time.Since(start); d >= timeout {
			slow++
			if d > 5*timeout {
				t.Errorf("request %d took %v with a dial timeout of %v", i, d, timeout)
			}
		}
	}
	if slow == 0 {
		t.Errorf("no request went to the stuck endpoint first; round robin should send some")
	}
}
