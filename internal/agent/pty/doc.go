// Package pty allocates pseudo-terminals (through /dev/ptmx) and sets
// their window size: for exec sessions with a tty (package stream) and for
// containers with tty: true (the runtime's console shim).
//
// This package imports only the standard library and golang.org/x/sys.
package pty
