package runtime

import (
	"sync"
)

// Chunk is a piece of a process's output as the process wrote it (not
// cut into lines).
type Chunk struct {
	// Stream is Stdout or Stderr.
	Stream string
	Data   []byte
}

// outputQueue bounds how many chunks an Output may hold unread. A reader
// that falls further behind is dropped rather than allowed to stall the
// copy to the log (and so the container, once its pipe is full).
const outputQueue = 256

// Output is a live copy of a process's output from the moment of
// [Process.Subscribe] on (kubectl attach). C is closed when both streams
// have ended, when the reader fell behind (FellBehind), on Close, or
// when the process is detached.
type Output struct {
	C <-chan Chunk

	hub    *outputHub
	c      chan Chunk
	behind bool // guarded by hub.mu
}

// FellBehind reports whether C was closed because the reader did not
// keep up.
func (o *Output) FellBehind() bool {
	o.hub.mu.Lock()
	defer o.hub.mu.Unlock()
	return o.behind
}

// Close stops the copy; C is closed.
func (o *Output) Close() {
	o.hub.mu.Lock()
	defer o.hub.mu.Unlock()
	if _, ok := o.hub.subs[o]; ok {
		delete(o.hub.subs, o)
		close(o.c)
	}
}

// outputHub hands the output read from a process's pipes to its
// subscribers.
type outputHub struct {
	mu     sync.Mutex
	subs   map[*Output]struct{}
	closed bool
}

func newOutputHub() *outputHub {
	return &outputHub{subs: map[*Output]struct{}{}}
}

func (h *outputHub) subscribe() *Output {
	c := make(chan Chunk, outputQueue)
	o := &Output{C: c, hub: h, c: c}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(c)
		return o
	}
	h.subs[o] = struct{}{}
	return o
}

// publish sends a copy of b to every subscriber without blocking.
func (h *outputHub) publish(stream string, b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	data := append([]byte(nil), b...)
	for o := range h.subs {
		select {
		case o.c <- Chunk{Stream: stream, Data: data}:
		default:
			o.behind = true
			delete(h.subs, o)
			close(o.c)
		}
	}
}

// close ends every subscription, and the ones to come: the output is
// over (or no longer watched).
func (h *outputHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for o := range h.subs {
		close(o.c)
	}
	clear(h.subs)
}
