// Package storage defines the contract between the API server and the
// key-value store that holds every object, and provides its implementations:
// an etcd store (embedded or external etcd, package storage/etcd3) and a
// watch cache (package storage/cacher) that serves lists and watches from
// memory as kube-apiserver's cacher does.
//
// # Contract
//
// Keys are strings, values opaque bytes; the revision is the etcd revision
// and becomes metadata.resourceVersion. Writes are conditional on a
// revision (optimistic concurrency). A watch delivers every change after a
// revision, in order, or fails with ErrCompacted when that revision is
// gone. The test suite in storage/storagetest runs against every
// implementation.
//
// This package imports only the standard library and k8s.io/apimachinery.
package storage
