package inproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Transport calls Handler for every request.
type Transport struct {
	Handler http.Handler
}

// RoundTrip serves req in a new goroutine and returns as soon as the
// handler has written the response's header (or returned).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	sreq := req.Clone(ctx)
	sreq.RequestURI = req.URL.RequestURI()
	sreq.Host = req.URL.Host
	sreq.RemoteAddr = "in-process"
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	sreq.TLS = nil
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
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
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", rw.code, http.StatusText(rw.code)),
		StatusCode:    rw.code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.sent,
		Body:          &body{r: pr, cancel: cancel},
		ContentLength: -1,
		Request:       req,
	}, nil
}

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
