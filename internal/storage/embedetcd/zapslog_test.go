package embedetcd

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/internal/syncbuf"
)

func TestEtcdLogsReachSlog(t *testing.T) {
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Start(t.Context(), Config{Dir: t.TempDir(), Logger: log, LogLevel: slog.LevelInfo})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	out := buf.String()
	if !strings.Contains(out, "component=etcd") || !strings.Contains(out, "level=INFO") {
		t.Fatalf("no etcd info records in the log:\n%.500s", out)
	}
	if strings.Contains(out, "level=DEBUG") {
		t.Fatal("debug records passed an info-level filter")
	}
}

func TestEtcdQuietByDefault(t *testing.T) {
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Start(t.Context(), Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// etcd may log a real error in a start immediately followed by Close;
	// nothing milder may pass.
	for _, level := range []string{"level=DEBUG", "level=INFO", "level=WARN"} {
		if out := buf.String(); strings.Contains(out, level) {
			t.Fatalf("etcd logged below error level:\n%.500s", out)
		}
	}
}
