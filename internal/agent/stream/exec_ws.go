package stream

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	gwebsocket "github.com/gorilla/websocket"

	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
)

// wsExecProtocols are the channel protocols served over WebSocket, newest
// first. Both are binary: each message is one channel byte then payload.
// v5 adds the client's half-close message {255, channel}.
var wsExecProtocols = []string{
	remotecommandconsts.StreamProtocolV5Name,
	remotecommandconsts.StreamProtocolV4Name,
}

// closeGrace is how long we wait for the client's close reply before
// dropping the socket; closing with unread input would make the kernel
// send a reset and the client could lose output it has not read yet.
const closeGrace = 5 * time.Second

// pickSubprotocol returns the first server protocol the client offered,
// or "" when there is none.
func pickSubprotocol(r *http.Request, server []string) string {
	offered := map[string]bool{}
	for _, p := range gwebsocket.Subprotocols(r) {
		offered[strings.TrimSpace(p)] = true
	}
	for _, p := range server {
		if offered[p] {
			return p
		}
	}
	return ""
}

func serveExecWebSocket(w http.ResponseWriter, r *http.Request, opts execOptions, h handler) {
	protocol := pickSubprotocol(r, wsExecProtocols)
	if protocol == "" {
		// Any non-101 answer makes kubectl fall back to SPDY.
		badRequest(w, "unsupported websocket subprotocol; supported: "+strings.Join(wsExecProtocols, ", "))
		return
	}
	up := gwebsocket.Upgrader{Subprotocols: []string{protocol}}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade already answered the client.
		return
	}
	defer ws.Close()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	c := newWSChannels(ws, protocol == remotecommandconsts.StreamProtocolV5Name)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer cancel()
		c.readLoop()
	}()

	sess := &session{writeStatus: v4StatusWriter(c.writer(remotecommandconsts.StreamErr))}
	// Input on a channel nobody reads is dropped rather than left blocking
	// the read loop (which also answers pings and close messages).
	if opts.stdin {
		sess.stdin = c.stdinR
	} else {
		c.stdinR.CloseWithError(io.ErrClosedPipe)
	}
	if !opts.tty {
		c.resizeR.CloseWithError(io.ErrClosedPipe)
	}
	if opts.stdout {
		sess.stdout = c.writer(remotecommandconsts.StreamStdOut)
	}
	if opts.stderr {
		sess.stderr = c.writer(remotecommandconsts.StreamStdErr)
	}
	if opts.tty {
		sess.resize = c.resizeR
	}
	// Upstream tells the client the connection is set up with an empty
	// message on the lowest writable channel.
	switch {
	case opts.stdout:
		_, _ = sess.stdout.Write(nil)
	case opts.stderr:
		_, _ = sess.stderr.Write(nil)
	default:
		_, _ = c.writer(remotecommandconsts.StreamErr).Write(nil)
	}

	sess.run(ctx, opts, h)

	// Nobody reads stdin or resizes any more; let the read loop drain them.
	c.stdinR.CloseWithError(io.ErrClosedPipe)
	c.resizeR.CloseWithError(io.ErrClosedPipe)
	c.mu.Lock()
	_ = ws.WriteControl(gwebsocket.CloseMessage,
		gwebsocket.FormatCloseMessage(gwebsocket.CloseNormalClosure, ""), time.Now().Add(closeGrace))
	c.mu.Unlock()
	select {
	case <-readerDone:
	case <-time.After(closeGrace):
	}
}

// wsChannels multiplexes the exec channels over one WebSocket.
type wsChannels struct {
	ws          *gwebsocket.Conn
	closeSignal bool

	mu sync.Mutex // serialises writes; gorilla allows one writer at a time

	stdinR, resizeR *io.PipeReader
	stdinW, resizeW *io.PipeWriter
}

func newWSChannels(ws *gwebsocket.Conn, closeSignal bool) *wsChannels {
	c := &wsChannels{ws: ws, closeSignal: closeSignal}
	c.stdinR, c.stdinW = io.Pipe()
	c.resizeR, c.resizeW = io.Pipe()
	return c
}

// readLoop demultiplexes client messages into the stdin and resize pipes
// until the connection ends, then closes both so readers see EOF.
func (c *wsChannels) readLoop() {
	defer c.stdinW.Close()
	defer c.resizeW.Close()
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if typ != gwebsocket.BinaryMessage || len(data) == 0 {
			continue
		}
		if c.closeSignal && data[0] == remotecommandconsts.StreamClose {
			if len(data) == 2 {
				c.closeChannel(data[1])
			}
			continue
		}
		var dst *io.PipeWriter
		switch data[0] {
		case remotecommandconsts.StreamStdIn:
			dst = c.stdinW
		case remotecommandconsts.StreamResize:
			dst = c.resizeW
		default:
			continue
		}
		// A write error means the reader is gone (command done): drop.
		_, _ = dst.Write(data[1:])
	}
}

func (c *wsChannels) closeChannel(ch byte) {
	switch ch {
	case remotecommandconsts.StreamStdIn:
		_ = c.stdinW.Close()
	case remotecommandconsts.StreamResize:
		_ = c.resizeW.Close()
	}
}

// writer returns an io.Writer sending each Write as one message on ch.
func (c *wsChannels) writer(ch byte) io.Writer {
	return wsChannelWriter{c: c, ch: ch}
}

type wsChannelWriter struct {
	c  *wsChannels
	ch byte
}

func (w wsChannelWriter) Write(p []byte) (int, error) {
	frame := make([]byte, len(p)+1)
	frame[0] = w.ch
	copy(frame[1:], p)
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	if err := w.c.ws.WriteMessage(gwebsocket.BinaryMessage, frame); err != nil {
		return 0, err
	}
	return len(p), nil
}
