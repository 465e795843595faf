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

// outputLimit bounds how much output an Output may hold unread. A reader
// that falls further behind is dropped rather than allowed to stall the
// copy to the log (and so the container, once its pipe is full).
const outputLimit = 4 << 20

// Output is a live copy of a process's output from the moment of
// [Process.Subscribe] on (kubectl attach). It ends when both streams
// have ended, when the reader fell behind (FellBehind), on Close, or
// when the process is detached.
type Output struct {
	hub   *outputHub
	ready chan struct{}

	// Guarded by hub.mu.
	pending []Chunk
	size    int
	ended   bool
	behind  bool
}

// Ready receives when Next has output or news of the end.
func (o *Output) Ready() <-chan struct{} { return o.ready }

// Next takes the output that came since the last call (consecutive
// pieces of one stream joined), and whether more may come.
func (o *Output) Next() (chunks []Chunk, more bool) {
	o.hub.mu.Lock()
	defer o.hub.mu.Unlock()
	chunks, o.pending, o.size = o.pending, nil, 0
	return chunks, !o.ended
}

// FellBehind reports whether the output was ended because the reader
// did not keep up.
func (o *Output) FellBehind() bool {
	o.hub.mu.Lock()
	defer o.hub.mu.Unlock()
	return o.behind
}

// Close stops the copy.
func (o *Output) Close() {
	o.hub.mu.Lock()
	defer o.hub.mu.Unlock()
	o.endLocked()
}

func (o *Output) endLocked() {
	delete(o.hub.subs, o)
	o.ended = true
	o.wake()
}

func (o *Output) wake() {
	select {
	case o.ready <- struct{}{}:
	default:
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
	o := &Output{hub: h, ready: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		o.ended = true
		o.wake()
		return o
	}
	h.subs[o] = struct{}{}
	return o
}

// publish queues a copy of b for every subscriber without blocking.
func (h *outputHub) publish(stream string, b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for o := range h.subs {
		if o.size+len(b) > outputLimit {
			o.behind = true
			o.pending, o.size = nil, 0
			o.endLocked()
			continue
		}
		if n := len(o.pending); n > 0 && o.pending[n-1].Stream == stream {
			o.pending[n-1].Data = append(o.pending[n-1].Data, b...)
		} else {
			o.pending = append(o.pending, Chunk{Stream: stream, Data: append([]byte(nil), b...)})
		}
		o.size += len(b)
		o.wake()
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
		o.endLocked()
	}
}
