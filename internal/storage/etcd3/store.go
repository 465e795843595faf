package etcd3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-dev/skiff/internal/storage"
)

// Store is a storage.Interface over an etcd client. It holds no state of
// its own besides configuration, so it is safe for concurrent use.
type Store struct {
	client *clientv3.Client
	// progressInterval is how long a progress-notifying watch may stay
	// silent before the store asks etcd for a progress event.
	progressInterval time.Duration
}

// Option configures a Store.
type Option func(*Store)

// WithProgressInterval sets how often an idle watch opened with
// progressNotify receives a Progress event (default 5 s). etcd's own
// progress notifications are every 10 minutes by default, so the store
// requests them itself.
func WithProgressInterval(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.progressInterval = d
		}
	}
}

// New returns a Store using client. The caller keeps ownership of client.
func New(client *clientv3.Client, opts ...Option) *Store {
	s := &Store{client: client, progressInterval: 5 * time.Second}
	for _, o := range opts {
		o(s)
	}
	return s
}

var _ storage.Interface = (*Store)(nil)

// Get returns the current value of key.
func (s *Store) Get(ctx context.Context, key string) (storage.KV, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return storage.KV{}, fmt.Errorf("get %s: %w", key, mapErr(err))
	}
	if len(resp.Kvs) == 0 {
		return storage.KV{}, fmt.Errorf("get %s: %w", key, storage.ErrNotFound)
	}
	return toKV(resp.Kvs[0]), nil
}

// Create stores value at key if key is absent.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(value))).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", key, mapErr(err))
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("create %s: %w", key, storage.ErrExists)
	}
	return resp.Header.Revision, nil
}

// Update replaces the value of key if its revision is still expectedRevision.
func (s *Store) Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error) {
	resp, err := s.client.Txn(ctx).
		If(revisionIs(key, expectedRevision)).
		Then(clientv3.OpPut(key, string(value))).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("update %s: %w", key, mapErr(err))
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("update %s: %w", key, failedPrecondition(resp))
	}
	return resp.Header.Revision, nil
}

// Delete removes key if its revision is still expectedRevision.
func (s *Store) Delete(ctx context.Context, key string, expectedRevision int64) (storage.KV, int64, error) {
	resp, err := s.client.Txn(ctx).
		If(revisionIs(key, expectedRevision)).
		Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return storage.KV{}, 0, fmt.Errorf("delete %s: %w", key, mapErr(err))
	}
	if !resp.Succeeded {
		return storage.KV{}, 0, fmt.Errorf("delete %s: %w", key, failedPrecondition(resp))
	}
	del := resp.Responses[0].GetResponseDeleteRange()
	if del == nil || len(del.PrevKvs) == 0 {
		// The compare said the key existed in this very transaction.
		return storage.KV{}, 0, fmt.Errorf("delete %s: etcd returned no previous value", key)
	}
	return toKV(del.PrevKvs[0]), resp.Header.Revision, nil
}

// revisionIs is the write precondition: the key's last write was at
// expected, or, for 0, the key exists at all.
func revisionIs(key string, expected int64) clientv3.Cmp {
	if expected == 0 {
		return clientv3.Compare(clientv3.CreateRevision(key), ">", 0)
	}
	return clientv3.Compare(clientv3.ModRevision(key), "=", expected)
}

// failedPrecondition reads the else-branch get: no key means not found,
// a key means its revision moved on.
func failedPrecondition(resp *clientv3.TxnResponse) error {
	if len(resp.Responses) > 0 {
		if r := resp.Responses[0].GetResponseRange(); r != nil && len(r.Kvs) > 0 {
			return storage.ErrConflict
		}
	}
	return storage.ErrNotFound
}

// List reads a page of keys under prefix at one revision.
func (s *Store) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	start := prefix
	if opts.StartKey != "" {
		if !strings.HasPrefix(opts.StartKey, prefix) {
			return storage.ListResult{}, fmt.Errorf("list %s: start key %q is outside the prefix", prefix, opts.StartKey)
		}
		start = opts.StartKey
	}
	ops := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))}
	exact := opts.Revision > 0 && !opts.NotOlderThan
	if exact {
		ops = append(ops, clientv3.WithRev(opts.Revision))
	}
	if opts.Limit > 0 {
		ops = append(ops, clientv3.WithLimit(opts.Limit))
	}
	resp, err := s.client.Get(ctx, start, ops...)
	if err != nil {
		return storage.ListResult{}, fmt.Errorf("list %s at %d: %w", prefix, opts.Revision, mapErr(err))
	}
	res := storage.ListResult{Revision: resp.Header.Revision, Items: make([]storage.KV, len(resp.Kvs))}
	if exact {
		res.Revision = opts.Revision
	} else if opts.Revision > res.Revision {
		// NotOlderThan a revision etcd has not reached.
		return storage.ListResult{}, fmt.Errorf("list %s not older than %d (store at %d): %w",
			prefix, opts.Revision, res.Revision, storage.ErrFutureRevision)
	}
	for i, kv := range resp.Kvs {
		res.Items[i] = toKV(kv)
	}
	if resp.More && len(res.Items) > 0 {
		res.More = true
		// The smallest key after the last one returned.
		res.NextKey = res.Items[len(res.Items)-1].Key + "\x00"
		res.RemainingCount = resp.Count - int64(len(res.Items))
	}
	return res, nil
}

// CurrentRevision returns etcd's newest revision with a linearizable read
// of no key.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	// A count-only get of one key costs a round trip through raft's read
	// index and nothing else.
	resp, err := s.client.Get(ctx, "/\x00skiff-revision-probe", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("current revision: %w", mapErr(err))
	}
	return resp.Header.Revision, nil
}

// Compact discards history before revision. Compacting to a revision that
// is already compacted is not an error.
func (s *Store) Compact(ctx context.Context, revision int64) error {
	_, err := s.client.Compact(ctx, revision)
	if err != nil {
		err = mapErr(err)
		if errors.Is(err, storage.ErrCompacted) {
			return nil
		}
		return fmt.Errorf("compact to %d: %w", revision, err)
	}
	return nil
}

func toKV(kv *mvccpb.KeyValue) storage.KV {
	return storage.KV{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision}
}

// mapErr turns etcd's revision errors into the storage sentinels; others
// pass through.
func mapErr(err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted), errors.Is(err, rpctypes.ErrGRPCCompacted):
		return storage.ErrCompacted
	case errors.Is(err, rpctypes.ErrFutureRev), errors.Is(err, rpctypes.ErrGRPCFutureRev):
		return storage.ErrFutureRevision
	}
	return err
}
