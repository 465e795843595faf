package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	gwebsocket "github.com/gorilla/websocket"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	pfconsts "k8s.io/apimachinery/pkg/util/portforward"
	"k8s.io/client-go/tools/portforward"
)

// Dialer connects to port of the pod.
type Dialer func(ctx context.Context, port int32) (net.Conn, error)

// ServePortForward upgrades the request and, for each port the client
// forwards a connection to, copies bytes between the client's data stream
// and dial(port). Dial errors go back on the pair's error stream, where
// kubectl prints them. Both plain SPDY (portforward.k8s.io) and SPDY
// tunneled in a WebSocket (SPDY/3.1+portforward.k8s.io) are served. It
// returns when the client closes the connection.
func ServePortForward(w http.ResponseWriter, r *http.Request, dial func(ctx context.Context, port int32) (net.Conn, error)) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	pf := &pfServer{ctx: ctx, dial: dial, pairs: map[string]*pfPair{}}

	var conn httpstream.Connection
	if wsstream.IsWebSocketRequest(r) {
		conn = pf.upgradeTunnel(w, r)
	} else {
		conn = pf.upgradeSPDY(w, r)
	}
	if conn == nil {
		return
	}
	defer conn.Close()
	pf.mu.Lock()
	pf.conn = conn
	pf.mu.Unlock()
	conn.SetIdleTimeout(streamIdleTimeout)
	select {
	case <-conn.CloseChan():
	case <-ctx.Done():
	}
	cancel()
	pf.wg.Wait()
}

// upgradeSPDY negotiates portforward.k8s.io and switches to SPDY.
func (pf *pfServer) upgradeSPDY(w http.ResponseWriter, r *http.Request) httpstream.Connection {
	if _, err := httpstream.Handshake(r, w, []string{pfconsts.PortForwardV1Name}); err != nil {
		return nil
	}
	return spdy.NewResponseUpgrader().UpgradeResponse(w, r, pf.newStream)
}

// upgradeTunnel accepts client-go's SPDY-over-WebSocket tunnel: the
// WebSocket's binary messages carry the raw SPDY byte stream, and the
// SPDY protocol version is implied by the subprotocol (no second
// handshake).
func (pf *pfServer) upgradeTunnel(w http.ResponseWriter, r *http.Request) httpstream.Connection {
	protocol := pickSubprotocol(r, []string{pfconsts.WebsocketsSPDYTunnelingPortForwardV1})
	if protocol == "" {
		// Any non-101 answer makes kubectl fall back to plain SPDY.
		badRequest(w, "unsupported websocket subprotocol; supported: "+pfconsts.WebsocketsSPDYTunnelingPortForwardV1)
		return nil
	}
	up := gwebsocket.Upgrader{Subprotocols: []string{protocol}}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil
	}
	tunnel := portforward.NewTunnelingConnection("server", ws)
	conn, err := spdy.NewServerConnection(tunnel, pf.newStream)
	if err != nil {
		_ = tunnel.Close()
		return nil
	}
	return conn
}

// pfServer pairs up the streams of one port-forward connection.
type pfServer struct {
	ctx  context.Context
	dial Dialer
	wg   sync.WaitGroup

	mu    sync.Mutex
	pairs map[string]*pfPair
	conn  httpstream.Connection // set once upgraded
}

// pfPair is the data and error stream of one forwarded connection.
type pfPair struct {
	port       int32
	data, errs httpstream.Stream
	timer      *time.Timer
}

// newStream is called on the connection's frame loop for every stream the
// client opens; it must not block. A returned error refuses the stream.
func (pf *pfServer) newStream(s httpstream.Stream, _ <-chan struct{}) error {
	h := s.Headers()
	port, err := parsePort(h.Get(corev1.PortHeader))
	if err != nil {
		return err
	}
	typ := h.Get(corev1.StreamType)
	if typ != corev1.StreamTypeData && typ != corev1.StreamTypeError {
		return fmt.Errorf("invalid stream type %q", typ)
	}
	id := requestID(s)

	pf.mu.Lock()
	defer pf.mu.Unlock()
	p := pf.pairs[id]
	if p == nil {
		p = &pfPair{port: port}
		pf.pairs[id] = p
		p.timer = time.AfterFunc(streamCreationTimeout, func() { pf.expire(id, p) })
	}
	if typ == corev1.StreamTypeData {
		if p.data != nil {
			return fmt.Errorf("duplicate data stream for request %s", id)
		}
		p.data = s
	} else {
		if p.errs != nil {
			return fmt.Errorf("duplicate error stream for request %s", id)
		}
		p.errs = s
	}
	if p.data != nil && p.errs != nil {
		p.timer.Stop()
		delete(pf.pairs, id)
		pf.wg.Add(1)
		go func() {
			defer pf.wg.Done()
			pf.forward(p)
		}()
	}
	return nil
}

// expire drops a pair whose second stream never came.
func (pf *pfServer) expire(id string, p *pfPair) {
	pf.mu.Lock()
	if pf.pairs[id] != p {
		pf.mu.Unlock()
		return
	}
	delete(pf.pairs, id)
	pf.mu.Unlock()
	if p.errs != nil {
		_, _ = fmt.Fprintf(p.errs, "timed out waiting for streams of request %s", id)
		_ = p.errs.Close()
	}
	if p.data != nil {
		_ = p.data.Reset()
	}
}

// forward connects the pair to the pod port until either side is done.
func (pf *pfServer) forward(p *pfPair) {
	defer pf.release(p)
	conn, err := pf.dial(pf.ctx, p.port)
	if err != nil {
		_, _ = fmt.Fprintf(p.errs, "error forwarding port %d to pod: %v", p.port, err)
		return
	}
	defer conn.Close()

	finished := make(chan struct{})
	defer close(finished)
	go func() {
		// Unblock the copies below when the client connection goes away.
		select {
		case <-pf.ctx.Done():
			_ = conn.Close()
		case <-finished:
		}
	}()
	go func() {
		// Client -> pod. When the client is done sending, pass the
		// half-close on so the pod sees EOF but can still answer.
		_, _ = io.Copy(conn, p.data)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}()
	// Pod -> client; the pod closing its side ends the forwarded connection.
	if _, err := io.Copy(p.data, conn); err != nil && !errors.Is(err, net.ErrClosed) && pf.ctx.Err() == nil {
		_, _ = fmt.Fprintf(p.errs, "error copying from pod port %d: %v", p.port, err)
	}
}

// release ends the pair's streams (our side) and forgets them, so a long
// port-forward session does not accumulate finished streams.
func (pf *pfServer) release(p *pfPair) {
	_ = p.errs.Close()
	_ = p.data.Close()
	pf.mu.Lock()
	conn := pf.conn
	pf.mu.Unlock()
	if conn != nil {
		conn.RemoveStreams(p.data, p.errs)
	}
}

// parsePort validates the "port" header.
func parsePort(v string) (int32, error) {
	if v == "" {
		return 0, errors.New(`missing "port" header`)
	}
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q", v)
	}
	return int32(n), nil
}

// requestID pairs streams by the "requestID" header. Clients older than
// that header open the error stream, then the data stream, so upstream
// pairs them by stream id: data id = error id + 2.
func requestID(s httpstream.Stream) string {
	if id := s.Headers().Get(corev1.PortForwardRequestIDHeader); id != "" {
		return id
	}
	id := s.Identifier()
	if s.Headers().Get(corev1.StreamType) == corev1.StreamTypeData {
		id -= 2
	}
	return "legacy-" + strconv.FormatUint(uint64(id), 10)
}
