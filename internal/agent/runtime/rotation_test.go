package runtime

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// A log that outgrows its size is rotated; at most MaxFiles files stay,
// and what they hold is the newest part of the output, in order.
func TestLogRotation(t *testing.T) {
	dir := t.TempDir()
	sp := spec(t, dir, "lines")
	sp.LogRotation = Rotation{MaxSize: 16 << 10, MaxFiles: 3}
	p, err := Start(sp)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.LogsDone():
	case <-time.After(20 * time.Second):
		t.Fatal("logs not copied")
	}
	rotated := RotatedFiles(sp.LogPath)
	if len(rotated) != 2 {
		t.Fatalf("rotated files %v, want 2 (3 files with the current one)", rotated)
	}
	next := -1
	for _, path := range append(rotated, sp.LogPath) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > sp.LogRotation.MaxSize+200 {
			t.Errorf("%s has %d bytes, over the 16 KiB limit by more than a line", path, fi.Size())
		}
		for _, l := range readLog(t, path) {
			n, err := strconv.Atoi(string(l.Text[:5]))
			if err != nil {
				t.Fatalf("%s: line %q", path, l.Text)
			}
			if next >= 0 && n != next {
				t.Fatalf("%s: line %d follows %d", path, n, next-1)
			}
			next = n + 1
		}
	}
	if next != 2000 {
		t.Fatalf("the last line kept is %d, want 1999", next-1)
	}
}

func TestRotatedFilesOrder(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/0.log"
	base := time.Now().Add(-time.Hour)
	for i, name := range []string{"0.log.20261128-100000-10", "0.log.20261128-100000", "0.log.20261128-100000-2", "0.log.junk"} {
		if err := os.WriteFile(dir+"/"+name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		mod := base.Add(time.Duration(i) * time.Second)
		if err := os.Chtimes(dir+"/"+name, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	got := RotatedFiles(path)
	want := []string{dir + "/0.log.20261128-100000-10", dir + "/0.log.20261128-100000", dir + "/0.log.20261128-100000-2"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v (by last write)", got, want)
		}
	}
}
