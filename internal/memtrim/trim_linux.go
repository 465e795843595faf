package memtrim

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Trim returns start-up garbage to the kernel and unmaps the read-only
// mappings of the running executable (Linux only; elsewhere it only
// collects garbage). It is safe to call at any time.
func Trim() error {
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil // no procfs: nothing more to do
	}
	ranges, err := readOnlyMappings("/proc/self/smaps", exe)
	if err != nil {
		return err
	}
	for _, r := range ranges {
		// No huge mappings, then unmap. Read-ahead stays on: with
		// MADV_RANDOM each page used again was its own disk read (some
		// 800 major faults in the first second of serving creates, the
		// slowest creates 1 ms slower) for 7 MB less resident; with
		// read-ahead, a handful.
		for _, advice := range []int{unix.MADV_NOHUGEPAGE, unix.MADV_DONTNEED} {
			if err := madvise(r[0], r[1]-r[0], advice); err != nil {
				return err
			}
		}
	}
	// The executable's cached pages are most likely in large folios
	// (written by the linker, or read ahead at exec), and a touch maps a
	// whole folio. Dropping those no process maps any more lets the ones
	// still used come back in read-ahead-sized folios, not 2 MiB ones.
	// They are clean: dropping them costs a disk read of what is used
	// again, nothing else.
	f, err := os.Open(exe)
	if err != nil {
		return nil
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("fadvise %s: %w", exe, err)
	}
	return nil
}

// madvise takes addresses, not a slice: the ranges are the program's own
// code and constants, which Go has no slice of.
func madvise(addr, length uintptr, advice int) error {
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, length, uintptr(advice)); errno != 0 {
		return fmt.Errorf("madvise %#x+%d (%d): %w", addr, length, advice, errno)
	}
	return nil
}

// readOnlyMappings lists the [start, end) ranges of path's mappings in a
// /proc/PID/smaps file that are neither writable nor shared and hold no
// private copies of pages: text and read-only data. Writable ones (data,
// bss) hold state; and a read-only one with copied pages (RELRO: the
// dynamic linker's relocated GOT, write-protected after loading) would
// lose its relocations, so both are left alone.
func readOnlyMappings(smaps, path string) ([][2]uintptr, error) {
	f, err := os.Open(smaps)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][2]uintptr
	var cur *[2]uintptr // the candidate whose fields are being read
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if v, ok := strings.CutSuffix(fields[0], ":"); ok {
			// A field line of the current mapping.
			if cur != nil && v == "Anonymous" && (len(fields) < 2 || fields[1] != "0") {
				cur = nil
			}
			if cur != nil && v == "VmFlags" {
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		// A header: start-end perms offset dev inode path
		cur = nil
		if len(fields) < 6 || strings.Join(fields[5:], " ") != path {
			continue
		}
		perms := fields[1]
		if len(perms) != 4 || perms[1] != '-' || perms[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		cur = &[2]uintptr{uintptr(start), uintptr(end)}
	}
	return out, sc.Err()
}
