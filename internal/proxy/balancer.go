package proxy

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// endpoint is one backend address of a balancer. The pointer stays the
// same while the address stays in the balancer, so that affinity entries
// and UDP associations can hold it.
type endpoint struct {
	addr netip.AddrPort
	str  string // addr.String(), for the dialer without an allocation
	// gone is set once the endpoint has left the balancer: no new
	// connection goes to it; UDP associations to it are dropped.
	gone atomic.Bool
}

// balancer picks endpoints for one service port. pick is called by every
// connection and must stay cheap: the endpoint list is an immutable
// snapshot behind an atomic pointer; only affinity takes a lock.
type balancer struct {
	now func() time.Time
	eps atomic.Pointer[[]*endpoint]
	rr  atomic.Uint32

	mu sync.Mutex // guards the fields below
	// affinity is the ClientIP affinity timeout; 0 disables it.
	affinity  time.Duration
	clients   map[netip.Addr]affinityEntry
	lastSweep time.Time
}

type affinityEntry struct {
	ep   *endpoint
	last time.Time
}

// sweepEvery bounds how often expired affinity entries are dropped.
const sweepEvery = time.Minute

func newBalancer(now func() time.Time) *balancer {
	b := &balancer{now: now}
	b.eps.Store(&[]*endpoint{})
	return b
}

// update sets the endpoints (the pointers of addresses already present
// are kept) and the affinity timeout. Endpoints that left are marked gone.
func (b *balancer) update(t target) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.eps.Load()
	byAddr := make(map[netip.AddrPort]*endpoint, len(old))
	for _, e := range old {
		byAddr[e.addr] = e
	}
	next := make([]*endpoint, 0, len(t.Endpoints))
	for _, a := range t.Endpoints {
		e := byAddr[a]
		if e == nil {
			e = &endpoint{addr: a, str: a.String()}
		}
		delete(byAddr, a)
		next = append(next, e)
	}
	b.eps.Store(&next)
	for _, e := range byAddr {
		e.gone.Store(true)
	}
	if b.affinity = t.Affinity; b.affinity == 0 {
		b.clients = nil
	}
}

// close marks every endpoint gone (the balancer is no longer used).
func (b *balancer) close() { b.update(target{}) }

// empty reports whether no endpoint is usable.
func (b *balancer) empty() bool { return len(*b.eps.Load()) == 0 }

// pick chooses an endpoint for a new connection from client, skipping the
// endpoints already tried for it; nil when none is left.
func (b *balancer) pick(client netip.Addr, tried []*endpoint) *endpoint {
	eps := *b.eps.Load()
	if len(eps) == 0 {
		return nil
	}
	b.mu.Lock()
	affinity := b.affinity
	if affinity == 0 {
		b.mu.Unlock()
		return b.roundRobin(eps, tried)
	}
	defer b.mu.Unlock()
	now := b.now()
	if e, ok := b.clients[client]; ok && !e.ep.gone.Load() && now.Sub(e.last) < affinity && !contains(tried, e.ep) {
		b.clients[client] = affinityEntry{ep: e.ep, last: now}
		return e.ep
	}
	ep := b.roundRobin(eps, tried)
	if ep == nil {
		return nil
	}
	if b.clients == nil {
		b.clients = map[netip.Addr]affinityEntry{}
	}
	b.clients[client] = affinityEntry{ep: ep, last: now}
	if now.Sub(b.lastSweep) >= sweepEvery {
		b.lastSweep = now
		for ip, e := range b.clients {
			if e.ep.gone.Load() || now.Sub(e.last) >= affinity {
				delete(b.clients, ip)
			}
		}
	}
	return ep
}

func (b *balancer) roundRobin(eps, tried []*endpoint) *endpoint {
	n := uint32(len(eps))
	start := b.rr.Add(1)
	for i := range n {
		if e := eps[(start+i)%n]; !contains(tried, e) {
			return e
		}
	}
	return nil
}

func contains(l []*endpoint, e *endpoint) bool {
	for _, x := range l {
		if x == e {
			return true
		}
	}
	return false
}
