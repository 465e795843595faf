package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartWithMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "mnt", "here") // does not exist yet
	s := spec(t, filepath.Join(dir, "c"), "read-file")
	s.Env = append(s.Env, "READ_FILE="+filepath.Join(target, "f"))
	s.Dir = target
	s.Mounts = []Mount{{Source: src, Target: target, ReadOnly: true}}
	p, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("process did not exit")
	}
	<-p.LogsDone()
	if e := p.Exit(); e.Code != 0 {
		t.Errorf("exit = %+v", e)
	}
	var out strings.Builder
	for _, l := range readLog(t, s.LogPath) {
		out.Write(l.Text)
	}
	if want := `read "inside" <nil> wd=` + target + ` shim=""`; !strings.Contains(out.String(), want) {
		t.Errorf("log = %q, want %q", out.String(), want)
	}
	// The mount stayed in the process's namespace.
	if _, err := os.Stat(filepath.Join(target, "f")); !os.IsNotExist(err) {
		t.Errorf("mount visible on the host: %v", err)
	}

	// A missing program is still a start error.
	s.Path = filepath.Join(dir, "nope")
	if _, err := Start(s); err == nil {
		t.Error("start of a missing program with mounts succeeded")
	}
}
