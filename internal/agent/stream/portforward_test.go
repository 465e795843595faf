package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	streamhttp "k8s.io/streaming/pkg/httpstream"
)

type dialerKind string

const (
	pfSPDY    dialerKind = "spdy"
	pfTunnel  dialerKind = "websocket-tunnel"
	pfKubectl dialerKind = "kubectl-fallback" // tunnel first, then SPDY, as kubectl builds it
)

// newPFDialer builds the dialers the way kubectl port-forward does.
func newPFDialer(t *testing.T, kind dialerKind, cfg *rest.Config, u *url.URL) streamhttp.Dialer {
	t.Helper()
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spdyDialer := spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	if kind == pfSPDY {
		return spdyDialer
	}
	tunnel, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if kind == pfTunnel {
		return tunnel
	}
	return portforward.NewFallbackDialerForStreaming(tunnel, spdyDialer, func(err error) bool {
		return streamhttp.IsUpgradeFailure(err) || streamhttp.IsHTTPSProxyError(err)
	})
}

// forward starts a client-go port forwarder for remote and returns the
// local port plus a stop function that waits for ForwardPorts' result;
// with stopNow false it only waits for ForwardPorts to end by itself.
func forward(t *testing.T, d streamhttp.Dialer, remote int32) (int, func(stopNow bool) error) {
	t.Helper()
	stop, ready := make(chan struct{}), make(chan struct{})
	pf, err := portforward.NewOnAddressesForStreaming(d, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", remote)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pf.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("ForwardPorts: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("port forward not ready")
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("GetPorts = %v, %v", ports, err)
	}
	var once sync.Once
	var result error
	stopFn := func(stopNow bool) error {
		once.Do(func() {
			if stopNow {
				close(stop)
			} else {
				defer close(stop)
			}
			select {
			case result = <-done:
			case <-time.After(20 * time.Second):
				result = errors.New("ForwardPorts did not return")
			}
		})
		return result
	}
	t.Cleanup(func() { _ = stopFn(true) })
	return int(ports[0].Local), stopFn
}

func TestPortForwardRoundTrip(t *testing.T) {
	echoPort := startEchoServer(t)
	dial := func(ctx context.Context, port int32) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	}
	srv, cfg := startServer(t, nil, dial)
	u, _ := url.Parse(srv.URL + "/portforward")
	for _, kind := range []dialerKind{pfSPDY, pfTunnel, pfKubectl} {
		t.Run(string(kind), func(t *testing.T) {
			local, stop := forward(t, newPFDialer(t, kind, cfg, u), echoPort)
			// Several connections at once, each with several round trips,
			// so streams of different requests interleave.
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for i := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- echoSession(local, i)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if err := stop(true); err != nil {
				t.Fatalf("ForwardPorts: %v", err)
			}
		})
	}
}

// echoSession sends three lines through the forwarded port and checks the
// answers, then half-closes and expects the pod side to close too.
func echoSession(local, n int) error {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", local), 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	for i := range 3 {
		msg := fmt.Sprintf("conn%d-msg%d", n, i)
		if _, err := fmt.Fprintln(c, msg); err != nil {
			return err
		}
		got, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("read answer to %s: %w", msg, err)
		}
		if want := "echo:" + msg + "\n"; got != want {
			return fmt.Errorf("got %q, want %q", got, want)
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		return fmt.Errorf("after half-close: %q, %v", rest, err)
	}
	return nil
}

func TestPortForwardDialError(t *testing.T) {
	dialed := make(chan int32, 1)
	dial := func(ctx context.Context, port int32) (net.Conn, error) {
		dialed <- port
		return nil, errors.New("connection refused")
	}
	srv, cfg := startServer(t, nil, dial)
	u, _ := url.Parse(srv.URL + "/portforward")
	for _, kind := range []dialerKind{pfSPDY, pfTunnel} {
		t.Run(string(kind), func(t *testing.T) {
			local, stop := forward(t, newPFDialer(t, kind, cfg, u), 8080)
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", local), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
				t.Fatalf("read = %q, %v; want immediate EOF", got, err)
			}
			select {
			case p := <-dialed:
				if p != 8080 {
					t.Fatalf("dialed port %d, want 8080", p)
				}
			default:
				t.Fatal("dial was not called")
			}
			// client-go drops the whole forward once the error stream
			// reports a failure, as kubectl does ("lost connection").
			if err := stop(false); err == nil || !strings.Contains(err.Error(), "lost connection") {
				t.Fatalf("ForwardPorts = %v, want lost connection", err)
			}
		})
	}
}

func TestPortForwardRejectsUnknownWebSocketProtocol(t *testing.T) {
	srv, _ := startServer(t, nil, nil)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/portforward", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Protocol", "v4.channel.k8s.io")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Anything but 101 makes kubectl fall back to plain SPDY.
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", resp.StatusCode)
	}
}
