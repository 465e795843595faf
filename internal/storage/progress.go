package storage

// ProgressRequester is implemented by Watchers that can be asked for a
// Progress event on demand. The watch cache uses it to learn that it has
// seen every event up to the store's current revision when the newest
// writes went to other prefixes (a consistent list would otherwise wait
// for the next periodic progress event).
//
// RequestProgress asks for one Progress event, delivered after every event
// the stream already holds. It does not block and may be ignored (the
// caller must still bound its wait); it is a no-op on a closed watcher.
type ProgressRequester interface {
	RequestProgress()
}
