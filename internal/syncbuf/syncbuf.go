// Package syncbuf is a bytes.Buffer that a writer (a process, a logger, a
// stream) and a reader (a test polling what came out) may use at once.
//
// This package imports only the standard library.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer collects what is written; the zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
