package replicaset

import (
	"sync"
	"time"
)

// expectationsTimeout bounds how long a ReplicaSet waits for the informer
// to report creations and deletions it made; after that it syncs anyway
// (a watch event can be lost when the informer relists).
const expectationsTimeout = 5 * time.Minute

// expectations records, per ReplicaSet key, how many pod creations are
// still to be observed and which pod deletions are. It is safe for
// concurrent use.
type expectations struct {
	now func() time.Time

	mu  sync.Mutex
	set map[string]*expectation
}

type expectation struct {
	adds      int
	deletions map[string]bool // pod keys
	at        time.Time
}

func newExpectations(now func() time.Time) *expectations {
	return &expectations{now: now, set: map[string]*expectation{}}
}

// satisfied reports whether the ReplicaSet key may manage its pods: no
// expectation recorded, all of them observed, or expired.
func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.set[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.deletions) == 0 {
		return true
	}
	return e.now().Sub(x.at) > expectationsTimeout
}

// expectCreations replaces the expectations of key by n creations.
func (e *expectations) expectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.set[key] = &expectation{adds: n, deletions: map[string]bool{}, at: e.now()}
}

// expectDeletions replaces the expectations of key by the deletion of the
// given pods.
func (e *expectations) expectDeletions(key string, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := make(map[string]bool, len(podKeys))
	for _, k := range podKeys {
		d[k] = true
	}
	e.set[key] = &expectation{deletions: d, at: e.now()}
}

// creationObserved lowers the creations expected for key by one.
func (e *expectations) creationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.set[key]; ok && x.adds > 0 {
		x.adds--
	}
}

// deletionObserved marks the deletion of podKey as seen for key.
func (e *expectations) deletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.set[key]; ok {
		delete(x.deletions, podKey)
	}
}

// forget drops everything recorded for key (the ReplicaSet is gone).
func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.set, key)
}
