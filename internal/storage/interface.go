package storage

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/runtime"
)

// Errors returned by every Interface implementation. Callers compare them
// with errors.Is; implementations may wrap them with context.
var (
	// ErrNotFound: the key does not exist (Get, Update, Delete).
	ErrNotFound = errors.New("storage: key not found")
	// ErrExists: Create found the key already present.
	ErrExists = errors.New("storage: key already exists")
	// ErrConflict: Update or Delete was given an expected revision that is
	// no longer the key's modification revision.
	ErrConflict = errors.New("storage: revision conflict")
	// ErrCompacted: the requested revision is older than the oldest one the
	// store (or the watch cache window) still holds. The API maps it to
	// 410 Gone ("Expired").
	ErrCompacted = errors.New("storage: revision compacted")
	// ErrFutureRevision: a list or watch asked for a revision newer than the
	// store has reached (and it did not arrive within the wait time).
	ErrFutureRevision = errors.New("storage: revision is in the future")
)

// KV is one stored value and the revision that last modified it.
type KV struct {
	Key   string
	Value []byte
	// ModRevision is the store revision of the last write to Key; the API
	// exposes it as metadata.resourceVersion.
	ModRevision int64
	// Object is the decoded Value when the store was given a Decoder (the
	// watch cache keeps decoded objects so lists do not decode again). It is
	// shared: callers must DeepCopy before mutating it. Nil when not decoded.
	Object runtime.Object
}

// ListOptions select a consistent page of keys under a prefix.
type ListOptions struct {
	// Revision to read at. 0 means "the newest" (a consistent read).
	Revision int64
	// NotOlderThan lets the store answer from any state at least as new as
	// Revision (the watch cache answers from memory). Ignored when Revision is 0.
	NotOlderThan bool
	// Limit caps the number of items; 0 means no limit.
	Limit int64
	// StartKey, when set, starts the page at this key (inclusive); used for
	// continue tokens. It must lie under the prefix.
	StartKey string
}

// ListResult is one page of a list.
type ListResult struct {
	Items []KV
	// Revision is the store revision the list was read at.
	Revision int64
	// More is true when keys remain after the last item; NextKey is the key
	// to pass as StartKey for the next page.
	More    bool
	NextKey string
	// RemainingCount is the number of keys left after this page when known
	// (-1 when not known).
	RemainingCount int64
}

// EventType says what happened to a key.
type EventType int

const (
	Added EventType = iota
	Modified
	Deleted
	// Progress carries only Revision: the store has seen every event up to
	// it (used for watch bookmarks).
	Progress
)

func (t EventType) String() string {
	switch t {
	case Added:
		return "ADDED"
	case Modified:
		return "MODIFIED"
	case Deleted:
		return "DELETED"
	case Progress:
		return "PROGRESS"
	}
	return "UNKNOWN"
}

// Event is one change seen by a watch.
type Event struct {
	Type EventType
	// KV is the new value (Added, Modified) or, for Deleted, the last value
	// before deletion with ModRevision set to the deletion revision.
	KV KV
	// Prev is the value before the change (Modified, Deleted); may be empty
	// for Added, and is empty when the previous value was compacted away.
	Prev KV
	// Revision at which the event happened (== KV.ModRevision except for
	// Progress events).
	Revision int64
}

// Decoder turns a stored value, last written at modRevision, into an object
// (the decoder sets metadata.resourceVersion from modRevision, since the
// revision is not part of the stored bytes). Implementations that keep
// objects in memory (the watch cache) call it once per stored value and
// share the result read-only.
type Decoder func(value []byte, modRevision int64) (runtime.Object, error)

// Interface is the storage contract the API server needs. Keys are plain
// strings ("/registry/pods/default/web-0"); values are opaque bytes.
// Every method is safe for concurrent use.
type Interface interface {
	// Get returns the current value of key, or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)

	// Create stores value at key if key does not exist and returns the new
	// revision; ErrExists otherwise.
	Create(ctx context.Context, key string, value []byte) (int64, error)

	// Update replaces the value of an existing key if its ModRevision still
	// equals expectedRevision (0 means: any revision, but the key must
	// exist). Returns the new revision, ErrNotFound or ErrConflict.
	Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error)

	// Delete removes key if its ModRevision still equals expectedRevision
	// (0 means any). Returns the deleted value and the deletion revision,
	// ErrNotFound or ErrConflict. The returned KV keeps the ModRevision of
	// its last write (unlike a Deleted event's KV).
	Delete(ctx context.Context, key string, expectedRevision int64) (KV, int64, error)

	// List returns the keys under prefix (a prefix ends in "/"), sorted by
	// key, read at one revision. ErrCompacted if opts.Revision is compacted;
	// ErrFutureRevision if it is newer than the store (exact, or
	// NotOlderThan not reached within the wait).
	List(ctx context.Context, prefix string, opts ListOptions) (ListResult, error)

	// Watch streams every change under prefix (a single key is a prefix
	// too) with revision > fromRevision, in revision order. fromRevision 0
	// means "from now". If fromRevision is compacted, Watch returns
	// ErrCompacted (or the stream's first and only event carries it via the
	// closed Watcher's Err). The Watcher ends when ctx is cancelled.
	// When progressNotify is true the stream also carries Progress events
	// at least every few seconds when idle (and only then).
	Watch(ctx context.Context, prefix string, fromRevision int64, progressNotify bool) (Watcher, error)

	// CurrentRevision returns the newest revision the store has reached.
	CurrentRevision(ctx context.Context) (int64, error)

	// Compact discards history older than revision: afterwards List at a
	// revision below it and Watch from a revision below revision-1 fail with
	// ErrCompacted. Compacting to an already compacted revision is not an
	// error. The watch cache also drops its own history below revision.
	Compact(ctx context.Context, revision int64) error
}

// RecentGetter is implemented by stores that keep a copy of recent
// state (the watch cache): GetRecent returns key as that copy has it now,
// possibly older than the store's current value, and false when the copy
// does not have it. An update may start from it and must still write
// conditionally on its ModRevision, as Kubernetes' GuaranteedUpdate starts
// from the watch cache's object.
type RecentGetter interface {
	GetRecent(key string) (KV, bool)
}

// Watcher is an open watch stream.
type Watcher interface {
	// Events is closed when the watch ends (ctx cancelled, Stop called, or
	// an error, reported by Err).
	Events() <-chan Event
	// Err is the reason the stream ended, nil when stopped normally. It
	// is valid after Events is closed. ErrCompacted when the watcher fell
	// out of the retained history.
	Err() error
	// Stop ends the watch and releases its resources.
	Stop()
}
