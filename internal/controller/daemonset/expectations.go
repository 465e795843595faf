package daemonset

import (
	"sync"
	"time"
)

// expectationsTimeout bounds how long a DaemonSet waits to observe the
// pod creations and deletions it asked for before it syncs anyway (a
// watch event can be lost when the informer relists); Kubernetes uses
// the same five minutes.
const expectationsTimeout = 5 * time.Minute

// expectations counts, per DaemonSet key, the pod creations and deletions
// still to be observed through the informer, so that a stale cache never
// makes the controller create a second pod on a node. Safe for concurrent
// use.
type expectations struct {
	now func() time.Time

	mu  sync.Mutex
	set map[string]*expectation
}

type expectation struct {
	adds, dels int
	at         time.Time
}

func newExpectations(now func() time.Time) *expectations {
	return &expectations{now: now, set: map[string]*expectation{}}
}

// satisfied reports whether key may act on its pods again.
func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.set[key]
	if !ok || x.adds <= 0 && x.dels <= 0 {
		return true
	}
	return e.now().Sub(x.at) > expectationsTimeout
}

// expect replaces key's expectations.
func (e *expectations) expect(key string, adds, dels int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.set[key] = &expectation{adds: adds, dels: dels, at: e.now()}
}

// lower takes back adds and dels that will never be observed (failed or
// skipped requests) or that were just observed.
func (e *expectations) lower(key string, adds, dels int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.set[key]; ok {
		x.adds -= adds
		x.dels -= dels
	}
}

func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.set, key)
}
