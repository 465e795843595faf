package etcd3_test

import (
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/storage"
	"github.com/skiff-dev/skiff/internal/storage/etcd3"
	"github.com/skiff-dev/skiff/internal/storage/storagetest"
)

func TestContract(t *testing.T) {
	storagetest.RunTests(t, func(t *testing.T) storage.Interface {
		return etcd3.New(storagetest.NewEtcd(t), etcd3.WithProgressInterval(200*time.Millisecond))
	})
}
