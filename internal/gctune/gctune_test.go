package gctune

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestBusyPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 400},
		{16 * mib, 400},   // goal would be 8× live: capped
		{32 * mib, 300},   // 4× live reaches the floor
		{48 * mib, 166},   // 128/48 = 2.66×
		{64 * mib, 100},   // the default goal is the floor
		{200 * mib, 100},  // never below the default
		{2000 * mib, 100}, //
	} {
		if got := busyPercent(c.live, 128*mib, 400); got != c.want {
			t.Errorf("busyPercent(%d MiB) = %d, want %d", c.live/mib, got, c.want)
		}
	}
}

// A burst raises GOGC at once, a quieter stretch that is still well above
// idle keeps it, and calm restores the default and frees the memory once.
func TestObserveFollowsTheRate(t *testing.T) {
	const mib = 1 << 20
	var set []int
	freed := 0
	t0 := time.Unix(1000, 0)
	tu := tuner{cfg: Config{}, percent: defaultPercent, lastTime: t0,
		set:        func(p int) int { set = append(set, p); return 0 },
		freeMemory: func() { freed++ }}
	tu.cfg.defaults()
	var allocs uint64
	step := func(d time.Duration, allocated uint64, live uint64) bool {
		t0 = t0.Add(d)
		allocs += allocated
		return tu.observe(allocs, live, t0)
	}
	if step(10*time.Second, 4*mib, 18*mib) { // idle: 0.4 MB/s
		t.Fatal("idle counted as busy")
	}
	if !step(100*time.Millisecond, 20*mib, 20*mib) { // 200 MB/s
		t.Fatal("burst not counted as busy")
	}
	if tu.percent != 400 || len(set) != 1 || set[0] != 400 {
		t.Fatalf("GOGC %d (set %v), want 400", tu.percent, set)
	}
	if !step(time.Second, 40*mib, 40*mib) { // 40 MB/s: busy, goal follows the live heap
		t.Fatal("busy stretch not counted as busy")
	}
	if tu.percent != 220 {
		t.Fatalf("GOGC %d with 40 MiB live, want 220", tu.percent)
	}
	if !step(time.Second, 6*mib, 40*mib) { // 6 MB/s: under BusyRate, above a quarter
		t.Fatal("a busy process went calm at 6 MB/s")
	}
	if freed != 0 {
		t.Fatal("memory freed while busy")
	}
	if step(time.Second, 1*mib, 30*mib) { // 1 MB/s: calm
		t.Fatal("calm counted as busy")
	}
	if tu.percent != defaultPercent || freed != 1 {
		t.Fatalf("GOGC %d, freed %d times; want the default, freed once", tu.percent, freed)
	}
	if step(time.Second, 1*mib, 30*mib); freed != 1 || len(set) != 3 {
		t.Fatalf("a calm process was set again: set %v, freed %d", set, freed)
	}
}

// Run with the real runtime: an allocation burst raises GOGC, its end
// brings the default back, and ending Run leaves the default.
func TestRunRaisesAndRestoresGOGC(t *testing.T) {
	t.Setenv("GOGC", "") // Getenv must see it unset, whatever the caller's
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, Config{CalmAfter: 100 * time.Millisecond}); close(done) }()
	percent := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }

	var keep [][]byte
	deadline := time.Now().Add(10 * time.Second)
	for percent() == defaultPercent {
		if time.Now().After(deadline) {
			t.Fatal("GOGC not raised during an allocation burst")
		}
		for range 1000 {
			keep = append(keep, make([]byte, 4096))
			if len(keep) > 2000 {
				keep = keep[:0]
			}
		}
		runtime.Gosched()
	}
	keep = nil
	deadline = time.Now().Add(10 * time.Second)
	for percent() != defaultPercent {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after the burst", percent())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if p := percent(); p != defaultPercent {
		t.Fatalf("GOGC %d after Run ended", p)
	}
}
