// Package gctune lets the garbage collector run less often while the
// process allocates fast, and puts it back to the default when it calms
// down.
//
// With the default GOGC=100 the heap goal is twice the live heap. An idle
// skiff server lives in about 18 MB, so a burst of API work (a Deployment
// of 1000 replicas: creates, bindings, status updates, watch events)
// collects every 20 MB allocated: dozens of cycles a second, whose marking,
// write barriers and assists cost more CPU than the work itself (measured:
// 2.6–3.0 s of server CPU for that burst at GOGC=100, 1.3 s at GOGC=400).
// A fixed higher GOGC would keep a larger heap for good, and idle memory
// is a target too. So the tuner watches the allocation rate after every
// collection: at BusyRate or more it sets GOGC so that the heap goal is at
// least HeapFloor (GOGC capped at MaxPercent; once the live heap passes
// half the floor it is the default again); when the rate falls below a
// quarter of BusyRate, it restores the default and returns the burst's
// memory to the kernel.
//
// A GOGC set in the environment is the operator's choice: Run then does
// nothing.
//
// This package imports only the standard library.
package gctune

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Config are the tuner's thresholds; the zero value takes the defaults.
type Config struct {
	// BusyRate is the allocation rate, in bytes per second, from which the
	// process counts as busy (default 16 MB/s; an idle server allocates
	// well under 1 MB/s).
	BusyRate float64
	// HeapFloor is the least heap goal while busy (default 128 MiB).
	HeapFloor uint64
	// MaxPercent caps GOGC while busy (default 400).
	MaxPercent int
	// CalmAfter is how often the rate is checked while busy, so that the
	// end of a burst is noticed without waiting for a collection
	// (default 1 s).
	CalmAfter time.Duration
}

func (c *Config) defaults() {
	if c.BusyRate <= 0 {
		c.BusyRate = 16 << 20
	}
	if c.HeapFloor == 0 {
		c.HeapFloor = 128 << 20
	}
	if c.MaxPercent <= 0 {
		c.MaxPercent = 400
	}
	if c.CalmAfter <= 0 {
		c.CalmAfter = time.Second
	}
}

// defaultPercent is GOGC's default.
const defaultPercent = 100

// Run tunes the collector until ctx ends, then restores the default.
func Run(ctx context.Context, cfg Config) {
	if os.Getenv("GOGC") != "" {
		return
	}
	cfg.defaults()
	gcs := make(chan struct{}, 1)
	done := make(chan struct{})
	defer close(done)
	armAfterGC(gcs, done)

	t := tuner{cfg: cfg, percent: defaultPercent, set: debug.SetGCPercent}
	t.lastAllocs, _ = readHeap()
	t.lastTime = time.Now()
	var calm <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if t.percent != defaultPercent {
				t.set(defaultPercent)
			}
			return
		case <-gcs:
		case <-calm:
		}
		allocs, live := readHeap()
		busy := t.observe(allocs, live, time.Now())
		calm = nil
		if busy {
			calm = time.After(cfg.CalmAfter)
		}
	}
}

// tuner is the policy, apart from the runtime so that tests can drive it.
type tuner struct {
	cfg        Config
	percent    int
	set        func(int) int
	freeMemory func()

	lastAllocs uint64
	lastTime   time.Time
}

// observe takes the cumulative bytes allocated and the live heap at now,
// sets GOGC for the rate since the last observation and says whether the
// process is busy.
func (t *tuner) observe(allocs, live uint64, now time.Time) bool {
	elapsed := now.Sub(t.lastTime).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(allocs-t.lastAllocs) / elapsed
	}
	t.lastAllocs, t.lastTime = allocs, now
	// Once busy, the process stays so until the rate falls well below
	// the threshold: a load that hovers around it would otherwise flip
	// the setting (and free memory) every second.
	busy := rate >= t.cfg.BusyRate || (t.percent != defaultPercent && rate >= t.cfg.BusyRate/4)
	want := defaultPercent
	if busy {
		want = busyPercent(live, t.cfg.HeapFloor, t.cfg.MaxPercent)
	}
	if want != t.percent {
		calming := want < t.percent && !busy
		t.set(want)
		t.percent = want
		if calming {
			// The burst's garbage would otherwise stay resident until
			// the scavenger gets to it, minutes later.
			if t.freeMemory != nil {
				t.freeMemory()
			} else {
				debug.FreeOSMemory()
			}
		}
	}
	return busy
}

// busyPercent is the GOGC whose heap goal, live·(1+GOGC/100), reaches
// floor, within [100, max].
func busyPercent(live, floor uint64, maxPercent int) int {
	if live == 0 {
		return maxPercent
	}
	p := int(floor*100/live) - 100
	return min(max(p, defaultPercent), maxPercent)
}

// armAfterGC sends on gcs after every collection until done is closed: a
// cleanup on an unreachable object runs once a collection has found it so,
// and each run arms the next.
func armAfterGC(gcs chan<- struct{}, done <-chan struct{}) {
	s := new(sentinel)
	runtime.AddCleanup(s, func(struct{}) {
		select {
		case <-done:
			return
		default:
		}
		select {
		case gcs <- struct{}{}:
		default:
		}
		armAfterGC(gcs, done)
	}, struct{}{})
}

// sentinel is large enough to get a heap object of its own (the tiny
// allocator batches smaller pointer-free objects, whose cleanups may never
// run).
type sentinel struct {
	_ *int
	_ [16]byte
}

// readHeap returns the bytes allocated since the process started and the
// heap that the last collection found live.
func readHeap() (allocs, live uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}
