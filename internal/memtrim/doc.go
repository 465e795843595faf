// Package memtrim gives back, once start-up is over, the memory that
// start-up needed and the steady state does not.
//
// Two kinds: heap garbage from start-up (schemas parsed, documents
// built), which a forced collection returns to the kernel at once instead
// of over minutes; and the pages of the executable mapped while every
// package initialised. On kernels that cache files in large folios the
// latter is most of the binary: a fault maps a whole 2 MiB folio (see
// FilePmdMapped in /proc/PID/smaps), so a process that touched a little
// of each region shows nearly all of its 100+ MiB executable as resident.
// Trim marks the executable's read-only mappings MADV_NOHUGEPAGE, unmaps
// them with MADV_DONTNEED and drops the file's cached pages that no
// process maps any more (they are clean; dropping them costs a disk read
// of what is used again): the pages still used come back on the next
// touch, in read-ahead-sized pieces rather than 2 MiB folios. Mappings holding private
// copies of pages (RELRO, the relocated GOT) are left alone: unmapping
// them would bring back the unrelocated file contents.
//
// This package imports only the standard library and golang.org/x/sys.
package memtrim
