package embedetcd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRestartKeepsData(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()

	began := time.Now()
	s, err := Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first start took %s", time.Since(began))
	if got := s.Endpoints()[0]; !strings.HasPrefix(got, "unix://") {
		t.Errorf("endpoint %q, want a unix socket", got)
	}
	put, err := s.Client().Put(ctx, "/k", "v1")
	if err != nil {
		t.Fatal(err)
	}
	rev1 := put.Header.Revision
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	began = time.Now()
	s, err = Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restart took %s", time.Since(began))
	defer s.Close()
	get, err := s.Client().Get(ctx, "/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(get.Kvs) != 1 || string(get.Kvs[0].Value) != "v1" || get.Kvs[0].ModRevision != rev1 {
		t.Fatalf("after restart got %v, want v1 at %d", get.Kvs, rev1)
	}
	put, err = s.Client().Put(ctx, "/k", "v2")
	if err != nil {
		t.Fatal(err)
	}
	if put.Header.Revision <= rev1 {
		t.Errorf("revision went from %d to %d", rev1, put.Header.Revision)
	}
}

func TestTwoServersSideBySide(t *testing.T) {
	ctx := t.Context()
	a, err := Start(ctx, Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Start(ctx, Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Client().Put(ctx, "/only-a", "x"); err != nil {
		t.Fatal(err)
	}
	got, err := b.Client().Get(ctx, "/only-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 0 {
		t.Fatal("servers share data")
	}
}

func TestDirInUse(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	a, err := Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if b, err := Start(ctx, Config{Dir: dir}); err == nil {
		b.Close()
		t.Fatal("second server on the same dir started")
	}
	// The first one still serves.
	if _, err := a.Client().Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
}

func TestLongDirFallsBackToTCP(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	s, err := Start(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Endpoints()[0]; !strings.HasPrefix(got, "http://127.0.0.1:") {
		t.Errorf("endpoint %q, want loopback tcp", got)
	}
	if _, err := s.Client().Put(t.Context(), "/k", "v"); err != nil {
		t.Fatal(err)
	}
}
