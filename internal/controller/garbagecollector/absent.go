package garbagecollector

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// absentKey names an owner looked up and not found: its UID and the
// namespace it was looked up in (a namespaced owner named from another
// namespace is absent there, not everywhere).
type absentKey struct {
	UID       types.UID
	Namespace string
}

// absentCache remembers owners a live GET found gone, so that the many
// dependents of one deleted owner cost one GET. UIDs are never reused, so
// an entry never turns wrong; the cache is bounded by dropping everything
// when full (a miss only costs a GET).
type absentCache struct {
	mu   sync.Mutex
	max  int
	keys map[absentKey]struct{} // guarded by mu
}

func newAbsentCache(max int) *absentCache {
	return &absentCache{max: max, keys: map[absentKey]struct{}{}}
}

func (c *absentCache) add(k absentKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.keys) >= c.max {
		clear(c.keys)
	}
	c.keys[k] = struct{}{}
}

func (c *absentCache) has(k absentKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.keys[k]
	return ok
}
