package storagetest

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-dev/skiff/internal/storage/embedetcd"
)

// NewEtcdServer starts an embedded etcd with its data in a fresh
// t.TempDir() and closes it when the test ends.
func NewEtcdServer(t testing.TB) *embedetcd.Server {
	t.Helper()
	srv, err := embedetcd.Start(t.Context(), embedetcd.Config{
		Dir: t.TempDir(),
		// Tests compact explicitly; automatic compaction would race them.
		CompactionRetention: -1,
	})
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close embedded etcd: %v", err)
		}
	})
	return srv
}

// NewEtcd starts an embedded etcd for the test (see NewEtcdServer) and
// returns its client, which the server owns.
func NewEtcd(t testing.TB) *clientv3.Client {
	t.Helper()
	return NewEtcdServer(t).Client()
}
