// Package cacher is the watch cache: a storage.Interface that wraps
// another one (the etcd store) and serves lists and watches of registered
// prefixes from memory, as kube-apiserver's cacher does.
//
// # Basics
//
// For every registered prefix a reflector lists the store once, then
// follows a store watch from the list's revision. It keeps every key in a
// B-tree ordered by key (values decoded once by the prefix's Decoder) and
// the newest events in a ring buffer, and fans events out to watchers.
//
//   - Writes and Get go to the store.
//   - List with Revision 0 asks the store for its revision and answers
//     from memory once the cache has caught up (requesting a progress
//     event from the store watch to learn it); NotOlderThan waits for the
//     revision; an exact revision goes to the store. After WaitTimeout
//     the store answers instead.
//   - Watch replays buffered events after the revision, then live ones;
//     a revision older than the buffer fails with storage.ErrCompacted.
//   - Keys outside every registered prefix pass straight to the store.
//
// # Invariants
//
//   - The dispatcher never blocks on a watcher: each has a bounded queue
//     and is ended with ErrWatcherTooSlow when it is full.
//   - Objects and values handed out are shared with the cache and with
//     other readers: never mutate them (DeepCopy first). Each value is
//     decoded once; a Deleted event's KV.Object (and every Prev.Object) is
//     the object as last written, so its resourceVersion is not the
//     deletion revision.
//   - When the store watch fails it is resumed from the cache's revision;
//     if that revision is compacted the cache re-lists and ends every
//     watcher with storage.ErrCompacted.
//   - Compact on the Cacher also drops cached history before the revision,
//     so a cacher answers like the store it wraps.
//
// # Imports
//
// The standard library, storage and github.com/google/btree.
package cacher
