//go:build !linux

package memtrim

import "runtime/debug"

// Trim returns start-up garbage to the operating system; unmapping the
// executable's pages is done on Linux only.
func Trim() error {
	debug.FreeOSMemory()
	return nil
}
