package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/syncbuf"
)

// A follower (kubectl logs -f) carries on across a rotation, losing no
// line written before it, and follows the new file.
func TestFollowAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	line := func(f *os.File, i int) {
		fmt.Fprintf(f, "2026-11-28T10:00:00.000000000Z stdout F line %d\n", i)
	}
	line(f, 0)
	var active atomic.Bool
	active.Store(true)
	var out syncbuf.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		streamLog(context.Background(), &out, path, logOptions{follow: true, tailLines: -1}, active.Load)
	}()
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("follower has %q, waiting for %q", out.String(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("line 0\n")
	// Lines 1 and 2 land in the old file right before it is rotated, so
	// the follower sees the rotation before it read them.
	line(f, 1)
	line(f, 2)
	f.Close()
	if err := os.Rename(path, path+".20261128-100000"); err != nil {
		t.Fatal(err)
	}
	f, err = os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	line(f, 3)
	waitFor("line 3\n")
	line(f, 4)
	f.Close()
	active.Store(false)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("follower did not end with the run")
	}
	if got, want := out.String(), "line 0\nline 1\nline 2\nline 3\nline 4\n"; got != want {
		t.Fatalf("followed %q, want %q", got, want)
	}
}
