package proxy

import "time"

// The TCP data path has two implementations with the same behaviour:
// tcp_linux.go drives every proxied connection from a few epoll event
// loops (the fast one), tcp_other.go gives each connection two goroutines
// and io.Copy (portable). Both: accept, pick an endpoint (retrying up to
// Config.DialAttempts endpoints, each connect bounded by
// Config.DialTimeout), reset the client when none answers, copy both
// ways, pass a half-close on as a half-close, and a reset or error on
// either side as a reset of both.

// nextBackoff is the wait before accepting again after an accept error
// (out of file descriptors and the like), as net/http does rather than
// spin: 5ms doubling to 1s.
func nextBackoff(d time.Duration) time.Duration {
	return min(max(2*d, 5*time.Millisecond), time.Second)
}
