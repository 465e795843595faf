// Package inproc is an http.RoundTripper that answers requests by calling
// an http.Handler of the same process: the controllers, scheduler, agent,
// proxy and DNS that run inside `skiff server` reach its API server
// through it, with no socket, no TLS and no HTTP/2 framing, while still
// speaking the API through client-go (so each can run against a remote
// server with nothing but another rest.Config).
//
// Requests keep their headers (credentials included: the API server
// authenticates them as any other). Answers that may stream (watches, logs
// that follow, proxies) do: the handler runs in its own goroutine and its
// writes reach the response body as they are made; closing the body
// cancels the request's context. Any other request is served in the
// caller's goroutine and answered once the handler returns.
// Connection hijacking (exec, port-forward, attach) is not supported:
// nothing in-process asks for it.
//
// This package imports only the standard library.
package inproc
