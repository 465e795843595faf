package inproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Transport calls Handler for every request.
type Transport struct {
	Handler http.Handler
}

// RoundTrip serves req. A request whose answer may stream (a watch, logs
// that follow, a proxied connection) is served in a new goroutine, and
// RoundTrip returns as soon as the handler has written the response's
// header; any other is served in the caller's goroutine into a buffer.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !mayStream(req) {
		return t.serveBuffered(req)
	}
	ctx, cancel := context.WithCancel(req.Context())
	sreq := serverRequest(ctx, req)
	pr, pw := io.Pipe()
	rw := &responseWriter{header: http.Header{}, headerSent: make(chan struct{}), body: pw}
	go func() {
		var failure error
		defer func() {
			if p := recover(); p != nil {
				// As net/http does: the response is cut off; the client
				// sees an error, the process lives.
				failure = fmt.Errorf("inproc: handler panic: %v", p)
			}
			rw.finish(failure)
			if req.Body != nil {
				req.Body.Close()
			}
		}()
		t.Handler.ServeHTTP(rw, sreq)
	}()
	select {
	case <-rw.headerSent:
	case <-req.Context().Done():
		cancel()
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	if rw.failed != nil {
		cancel()
		return nil, rw.failed
	}
	return response(req, rw.code, rw.sent, &body{r: pr, cancel: cancel}, -1), nil
}

// response is the client's view of an answer.
func response(req *http.Request, code int, header http.Header, body io.ReadCloser, length int64) *http.Response {
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", code, http.StatusText(code)),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          body,
		ContentLength: length,
		Request:       req,
	}
}

// serverRequest is req as a server receives it.
func serverRequest(ctx context.Context, req *http.Request) *http.Request {
	sreq := req.Clone(ctx)
	sreq.RequestURI = req.URL.RequestURI()
	sreq.Host = req.URL.Host
	sreq.RemoteAddr = "in-process"
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	sreq.TLS = nil
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	return sreq
}

// mayStream tells the requests whose answer may not end by itself: GETs of
// watches (?watch=true or a /watch/ path), of logs that follow, and of
// proxies. Everything else answers and ends.
func mayStream(req *http.Request) bool {
	if req.Method != http.MethodGet {
		return false
	}
	if q := req.URL.Query(); isTrue(q.Get("watch")) || isTrue(q.Get("follow")) {
		return true
	}
	for _, seg := range strings.Split(req.URL.Path, "/") {
		if seg == "watch" || seg == "proxy" {
			return true
		}
	}
	return false
}

// isTrue reads a boolean query parameter as the API server does.
func isTrue(v string) bool { return v == "true" || v == "1" }

// serveBuffered runs the handler in the caller's goroutine, whose stack
// is already grown (a new goroutine per request grew its stack through
// the API server's deep calls over and over: a tenth of the CPU of a
// burst of creates), and answers with what it wrote.
func (t *Transport) serveBuffered(req *http.Request) (*http.Response, error) {
	sreq := serverRequest(req.Context(), req)
	w := &bufferedWriter{header: http.Header{}}
	defer func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}()
	var failure error
	func() {
		defer func() {
			if p := recover(); p != nil {
				failure = fmt.Errorf("inproc: handler panic: %v", p)
			}
		}()
		t.Handler.ServeHTTP(w, sreq)
	}()
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	if w.sent == nil {
		if failure != nil {
			return nil, failure
		}
		w.WriteHeader(http.StatusOK)
	}
	var body io.Reader = bytes.NewReader(w.body.Bytes())
	length := int64(w.body.Len())
	if failure != nil {
		// As net/http does: the body is cut off with the error.
		body, length = io.MultiReader(body, errorReader{failure}), -1
	}
	return response(req, w.code, w.sent, io.NopCloser(body), length), nil
}

// bufferedWriter keeps the header as first written and the whole body.
type bufferedWriter struct {
	header http.Header
	code   int
	sent   http.Header
	body   bytes.Buffer
}

func (w *bufferedWriter) Header() http.Header { return w.header }

func (w *bufferedWriter) WriteHeader(code int) {
	if w.sent != nil || (code < 200 && code >= 100) {
		return
	}
	w.code = code
	w.sent = w.header.Clone()
}

func (w *bufferedWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Flush sends the header; the body is sent when the handler returns.
func (w *bufferedWriter) Flush() { w.WriteHeader(http.StatusOK) }

type errorReader struct{ err error }

func (r errorReader) Read([]byte) (int, error) { return 0, r.err }

// responseWriter hands the header over once, then streams the body
// through a pipe: each Write returns when the client has read it.
type responseWriter struct {
	header http.Header
	body   *io.PipeWriter

	once       sync.Once
	headerSent chan struct{}
	code       int
	sent       http.Header
	failed     error // set before headerSent closes, when nothing was written
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if code < 200 && code >= 100 {
		// Informational answers are not passed on (nothing in-process
		// asks for them).
		return
	}
	w.once.Do(func() {
		w.code = code
		w.sent = w.header.Clone()
		close(w.headerSent)
	})
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Flush sends the header, as net/http's does; written data needs no
// flushing, it is delivered as it is written.
func (w *responseWriter) Flush() { w.WriteHeader(http.StatusOK) }

// finish ends the response when the handler returned (err: it panicked).
func (w *responseWriter) finish(err error) {
	w.once.Do(func() {
		if err != nil {
			w.failed = err
		} else {
			w.code = http.StatusOK
			w.sent = w.header.Clone()
		}
		close(w.headerSent)
	})
	if err != nil {
		w.body.CloseWithError(err)
		return
	}
	w.body.Close()
}

// body is the response body; Close stops the handler (its writes fail
// and its request context ends).
type body struct {
	r      *io.PipeReader
	cancel context.CancelFunc
}

func (b *body) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *body) Close() error {
	b.cancel()
	b.r.CloseWithError(errBodyClosed)
	return nil
}

var errBodyClosed = errors.New("inproc: response body closed")
