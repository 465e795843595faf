package stream

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
)

// spdyExecProtocols are the X-Stream-Protocol-Version values served over
// SPDY, newest first. Like upstream, v5 is WebSocket-only: a client
// offering v5,v4,... over SPDY negotiates v4, which it treats the same.
var spdyExecProtocols = []string{
	remotecommandconsts.StreamProtocolV4Name,
	remotecommandconsts.StreamProtocolV3Name,
	remotecommandconsts.StreamProtocolV2Name,
	remotecommandconsts.StreamProtocolV1Name,
}

// streamAndReply is a stream the client opened plus the signal that our
// reply frame went out; a stream only counts once replied to, so that
// closing the connection cannot overtake the reply.
type streamAndReply struct {
	httpstream.Stream
	replySent <-chan struct{}
}

func serveExecSPDY(w http.ResponseWriter, r *http.Request, opts execOptions, h handler) {
	protocol, err := httpstream.Handshake(r, w, spdyExecProtocols)
	if err != nil {
		// Handshake already answered 400 (or 403 for no common protocol).
		return
	}
	// The handler runs on the connection's frame loop and must not block:
	// a client opens at most five streams, more are refused.
	streams := make(chan streamAndReply, 8)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, replySent <-chan struct{}) error {
		select {
		case streams <- streamAndReply{Stream: s, replySent: replySent}:
			return nil
		default:
			return fmt.Errorf("too many streams")
		}
	})
	if conn == nil {
		// The upgrader answered the client itself.
		return
	}
	defer conn.Close()
	conn.SetIdleTimeout(streamIdleTimeout)

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-conn.CloseChan():
			cancel()
		case <-ctx.Done():
		}
	}()

	resizable := opts.tty && protocol != remotecommandconsts.StreamProtocolV2Name && protocol != remotecommandconsts.StreamProtocolV1Name
	expected := 1 // the error stream is always there
	for _, b := range []bool{opts.stdin, opts.stdout, opts.stderr, resizable} {
		if b {
			expected++
		}
	}
	got, err := waitForStreams(ctx, streams, expected)
	if err != nil {
		return
	}
	sess := &session{}
	var toClose []httpstream.Stream
	for _, s := range got {
		switch s.Headers().Get(corev1.StreamType) {
		case corev1.StreamTypeError:
			if protocol == remotecommandconsts.StreamProtocolV4Name {
				sess.writeStatus = v4StatusWriter(s)
			} else {
				sess.writeStatus = v1StatusWriter(s)
			}
			toClose = append(toClose, s)
		case corev1.StreamTypeStdin:
			sess.stdin = s
		case corev1.StreamTypeStdout:
			sess.stdout = s
			toClose = append(toClose, s)
		case corev1.StreamTypeStderr:
			sess.stderr = s
			toClose = append(toClose, s)
		case corev1.StreamTypeResize:
			sess.resize = s
		}
	}
	if sess.writeStatus == nil {
		// The client never opened an error stream; report nowhere.
		sess.writeStatus = v1StatusWriter(io.Discard)
	}
	if !opts.tty {
		sess.resize = nil
	}
	sess.run(ctx, opts, h)
	// Half-close what we wrote so the client's readers see EOF before the
	// connection goes away.
	for _, s := range toClose {
		_ = s.Close()
	}
}

// waitForStreams collects the expected number of replied-to streams, or
// fails after streamCreationTimeout or when the connection closes.
func waitForStreams(ctx context.Context, streams <-chan streamAndReply, expected int) ([]streamAndReply, error) {
	timer := time.NewTimer(streamCreationTimeout)
	defer timer.Stop()
	replied := make(chan struct{})
	stop := make(chan struct{})
	defer close(stop)
	var got []streamAndReply
	count := 0
	for count < expected {
		select {
		case s := <-streams:
			switch s.Headers().Get(corev1.StreamType) {
			case corev1.StreamTypeError, corev1.StreamTypeStdin, corev1.StreamTypeStdout,
				corev1.StreamTypeStderr, corev1.StreamTypeResize:
				got = append(got, s)
				go func() {
					select {
					case <-s.replySent:
						select {
						case replied <- struct{}{}:
						case <-stop:
						}
					case <-stop:
					}
				}()
			default:
				// Unknown stream types are ignored, as upstream does.
				_ = s.Reset()
			}
		case <-replied:
			count++
		case <-timer.C:
			return nil, fmt.Errorf("timed out waiting for client to create streams")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return got, nil
}
