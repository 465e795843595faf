// Package etcd3 implements storage.Interface on an etcd v3 cluster through
// go.etcd.io/etcd/client/v3, embedded (package storage/embedetcd) or
// external.
//
// # Basics
//
// Every conditional write is one etcd transaction:
//
//	Create: if create_revision(key) == 0 then put
//	Update: if mod_revision(key) == expected (or create_revision > 0) then put else get
//	Delete: if mod_revision(key) == expected (or create_revision > 0) then delete(prev_kv) else get
//
// The else-branch get tells ErrNotFound from ErrConflict in the same round
// trip. Lists are ranges read at one revision; watches are etcd watches
// with previous values, whose compaction errors become storage.ErrCompacted.
//
// # Invariants
//
//   - Errors wrap the storage.Err* sentinels (errors.Is works) and never
//     the etcd client's own error values for those cases.
//   - Values returned are the client's freshly decoded buffers; nothing
//     here retains or mutates them.
//   - A Watcher's goroutine is the only sender on, and closer of, its
//     Events channel.
//
// # Imports
//
// The standard library, storage, and go.etcd.io/etcd/{api,client}.
package etcd3
