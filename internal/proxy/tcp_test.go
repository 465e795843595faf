package proxy

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The TCP data path, end to end through a ClusterIP: half-close, large
// transfers both ways at once, server-first protocols, resets, connect
// failures and timeouts, and what Run's end and a service's deletion do
// to open connections.

// tcpBackend runs serve for every connection to a listener on a random
// pod address until cleanup.
func tcpBackend(t *testing.T, serve func(c *net.TCPConn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", randomIP(72).String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				serve(c.(*net.TCPConn))
			})
		}
	})
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// tcpService runs a proxier with one ClusterIP service on port 80 to eps
// and returns the service address once it answers a connect.
func tcpService(t *testing.T, cfg Config, eps ...netip.AddrPort) string {
	t.Helper()
	client, _, _ := runFakeConfig(t, cfg, testLogger())
	vip := randomIP(99)
	fakeService(t, client, "svc", vip, 80, eps...)
	addr := vip.String() + ":80"
	waitFor(t, "the service address", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

func dialTCP(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c.(*net.TCPConn)
}

// TestTCPHalfClose: the client's FIN reaches the endpoint as a FIN, and
// the endpoint's answer after it still reaches the client.
func TestTCPHalfClose(t *testing.T) {
	backend := tcpBackend(t, func(c *net.TCPConn) {
		n, _ := io.Copy(io.Discard, c) // until the client's FIN
		fmt.Fprintf(c, "got %d bytes", n)
	})
	c := dialTCP(t, tcpService(t, Config{}, backend))
	if _, err := c.Write(make([]byte, 300<<10)); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != fmt.Sprintf("got %d bytes", 300<<10) {
		t.Fatalf("answer after half-close: %q, %v", got, err)
	}
}

// TestTCPLargeBothWays: several connections each send 8 MiB to an echo
// server while reading the echo, so that both directions fill their
// buffers and wait for each other; every byte comes back in order.
func TestTCPLargeBothWays(t *testing.T) {
	backend := tcpBackend(t, func(c *net.TCPConn) {
		io.Copy(c, c)
		c.CloseWrite()
	})
	addr := tcpService(t, Config{}, backend)
	const size, conns = 8 << 20, 4
	var wg sync.WaitGroup
	for i := range conns {
		c := dialTCP(t, addr)
		wg.Go(func() {
			data := make([]byte, size)
			r := rand.NewChaCha8([32]byte{byte(i)})
			r.Read(data)
			go func() {
				// Uneven writes, so that reads and writes of the proxy
				// do not line up.
				for rest := data; len(rest) > 0; {
					n := min(len(rest), 1+rand.IntN(200<<10))
					if _, err := c.Write(rest[:n]); err != nil {
						t.Error(err)
						return
					}
					rest = rest[n:]
				}
				c.CloseWrite()
			}()
			h := sha256.New()
			n, err := io.Copy(h, c)
			if err != nil || n != size || !bytes.Equal(h.Sum(nil), sha256Sum(data)) {
				t.Errorf("connection %d: echoed %d of %d bytes (err %v), equal %v", i, n, size, err, bytes.Equal(h.Sum(nil), sha256Sum(data)))
			}
		})
	}
	wg.Wait()
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// TestTCPServerSpeaksFirst: an endpoint that writes before the client
// sends anything (SMTP, MySQL) is heard.
func TestTCPServerSpeaksFirst(t *testing.T) {
	backend := tcpBackend(t, func(c *net.TCPConn) {
		io.WriteString(c, "220 hello\r\n")
		io.Copy(io.Discard, c)
	})
	c := dialTCP(t, tcpService(t, Config{}, backend))
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(c, buf, len("220 hello\r\n"))
	if err != nil || string(buf[:n]) != "220 hello\r\n" {
		t.Fatalf("banner: %q, %v", buf[:n], err)
	}
}

// TestTCPResetPassedOn: an endpoint's reset reaches the client as a
// reset, not as an orderly end.
func TestTCPResetPassedOn(t *testing.T) {
	backend := tcpBackend(t, func(c *net.TCPConn) {
		buf := make([]byte, 1)
		c.Read(buf)
		c.SetLinger(0) // close sends RST
	})
	c := dialTCP(t, tcpService(t, Config{}, backend))
	c.Write([]byte("x"))
	_, err := io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after the endpoint's reset: %v, want ECONNRESET", err)
	}
}

// TestTCPConnectFailureTriesNext: an endpoint that refuses is skipped;
// every connection reaches the one that answers.
func TestTCPConnectFailureTriesNext(t *testing.T) {
	good := httpBackend(t, randomIP(71).String()+":0", "good")
	refusing := netip.AddrPortFrom(randomIP(73), good.Port()) // nothing listens there
	addr := tcpService(t, Config{}, good, refusing)
	for i := range 10 {
		if s, err := get(addr); err != nil || s != "good" {
			t.Fatalf("request %d: %q, %v", i, s, err)
		}
	}
}

// TestTCPRunEndClosesConnections: when Run ends, proxied connections are
// closed and Run returns.
func TestTCPRunEndClosesConnections(t *testing.T) {
	backend := tcpBackend(t, func(c *net.TCPConn) { io.Copy(c, c) })
	client, _, stop := runFakeConfig(t, Config{}, testLogger())
	vip := randomIP(99)
	fakeService(t, client, "svc", vip, 80, backend)
	var c *net.TCPConn
	waitFor(t, "a proxied connection", func() bool {
		nc, err := net.Dial("tcp", vip.String()+":80")
		if err != nil {
			return false
		}
		c = nc.(*net.TCPConn)
		return true
	})
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4)
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if !stop() {
		t.Fatal("Run did not return")
	}
	if n, err := c.Read(buf); err == nil {
		t.Fatalf("read %q after Run ended, want the connection closed", buf[:n])
	}
}

// TestTCPServiceDeletedDrains: deleting the service closes its listener,
// not the connections already proxied.
func TestTCPServiceDeletedDrains(t *testing.T) {
	backend := httpBackend(t, randomIP(71).String()+":0", "ok")
	client, _ := runFake(t, testLogger())
	vip := randomIP(99)
	fakeService(t, client, "svc", vip, 80, backend)
	addr := vip.String() + ":80"
	waitFor(t, "the service", func() bool { s, err := get(addr); return err == nil && s == "ok" })
	k := dialKeepAlive(t, addr)
	if s, err := k.get(); err != nil || s != "ok" {
		t.Fatalf("before delete: %q, %v", s, err)
	}
	if err := client.CoreV1().Services("default").Delete(t.Context(), "svc", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the listener to close", func() bool { _, err := get(addr); return err != nil })
	if s, err := k.get(); err != nil || s != "ok" {
		t.Fatalf("open connection after delete: %q, %v", s, err)
	}
}

// TestTCPSlowReader: a client that starts reading late, and then in
// small pieces, gets all of a large answer in order (the proxy holds
// back what the client cannot take yet and stops reading the endpoint
// meanwhile).
func TestTCPSlowReader(t *testing.T) {
	data := make([]byte, 32<<20) // more than the socket buffers on the way hold
	rand.NewChaCha8([32]byte{42}).Read(data)
	wrote := make(chan struct{})
	var once sync.Once
	backend := tcpBackend(t, func(c *net.TCPConn) {
		// (tcpService's probe connection fails here.)
		if _, err := c.Write(data); err == nil {
			once.Do(func() { close(wrote) })
		}
	})
	c := dialTCP(t, tcpService(t, Config{}, backend))
	// Not reading yet: the buffers fill up and the endpoint's write
	// blocks (it cannot finish while we do not read).
	select {
	case <-wrote:
		t.Fatal("the endpoint wrote everything before the client read anything")
	case <-time.After(300 * time.Millisecond):
	}
	h := sha256.New()
	buf := make([]byte, 512)
	n, err := io.CopyBuffer(h, struct{ io.Reader }{c}, buf)
	if err != nil || n != int64(len(data)) || !bytes.Equal(h.Sum(nil), sha256Sum(data)) {
		t.Fatalf("read %d of %d bytes (err %v), equal %v", n, len(data), err, bytes.Equal(h.Sum(nil), sha256Sum(data)))
	}
}

// TestTCPIPv6: a ClusterIP and an endpoint on ::1.
func TestTCPIPv6(t *testing.T) {
	probe, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	port := probe.Addr().(*net.TCPAddr).Port // a free port for the service
	probe.Close()
	backend := httpBackend(t, "[::1]:0", "six")
	client, _ := runFake(t, testLogger())
	fakeService(t, client, "six", netip.IPv6Loopback(), uint16(port), backend)
	addr := net.JoinHostPort("::1", fmt.Sprint(port))
	waitFor(t, "the IPv6 service", func() bool { s, err := get(addr); return err == nil && s == "six" })
}
