package proxy

import (
	"net/netip"
	"testing"
	"time"
)

// fakeClock is a manual clock for affinity timeouts.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) step(d time.Duration) { c.t = c.t.Add(d) }
func addrs(ss ...string) (out []netip.AddrPort) {
	for _, s := range ss {
		out = append(out, ap(s))
	}
	return out
}

func TestBalancerRoundRobin(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	b := newBalancer(clk.now)
	if ep := b.pick(netip.MustParseAddr("127.0.0.1"), nil); ep != nil {
		t.Fatalf("empty balancer picked %v", ep.addr)
	}
	b.update(target{Endpoints: addrs("127.70.0.1:80", "127.70.0.2:80", "127.70.0.3:80")})
	seen := map[string]int{}
	for range 30 {
		seen[b.pick(netip.MustParseAddr("127.0.0.1"), nil).str]++
	}
	for _, a := range []string{"127.70.0.1:80", "127.70.0.2:80", "127.70.0.3:80"} {
		if seen[a] != 10 {
			t.Errorf("%s picked %d times of 30, want 10 (%v)", a, seen[a], seen)
		}
	}
}

func TestBalancerSkipsTried(t *testing.T) {
	b := newBalancer(time.Now)
	b.update(target{Endpoints: addrs("127.70.0.1:80", "127.70.0.2:80")})
	client := netip.MustParseAddr("127.0.0.1")
	first := b.pick(client, nil)
	for range 10 {
		if ep := b.pick(client, []*endpoint{first}); ep == nil || ep == first {
			t.Fatalf("picked %v after %v failed", ep, first.str)
		}
	}
	second := b.pick(client, []*endpoint{first})
	if ep := b.pick(client, []*endpoint{first, second}); ep != nil {
		t.Fatalf("picked %s with every endpoint tried", ep.str)
	}
}

func TestBalancerUpdateKeepsEndpointsAndMarksGone(t *testing.T) {
	b := newBalancer(time.Now)
	b.update(target{Endpoints: addrs("127.70.0.1:80", "127.70.0.2:80")})
	before := map[string]*endpoint{}
	for _, e := range *b.eps.Load() {
		before[e.str] = e
	}
	b.update(target{Endpoints: addrs("127.70.0.2:80", "127.70.0.3:80")})
	after := map[string]*endpoint{}
	for _, e := range *b.eps.Load() {
		after[e.str] = e
	}
	if after["127.70.0.2:80"] != before["127.70.0.2:80"] {
		t.Error("an endpoint that stayed got a new identity")
	}
	if !before["127.70.0.1:80"].gone.Load() {
		t.Error("removed endpoint not marked gone")
	}
	if after["127.70.0.2:80"].gone.Load() || after["127.70.0.3:80"].gone.Load() {
		t.Error("present endpoint marked gone")
	}
	for range 10 {
		if ep := b.pick(netip.MustParseAddr("127.0.0.1"), nil); ep.str == "127.70.0.1:80" {
			t.Fatal("removed endpoint picked")
		}
	}
	b.close()
	if !b.empty() || !after["127.70.0.3:80"].gone.Load() {
		t.Error("close left endpoints")
	}
}

func TestBalancerAffinity(t *testing.T) {
	c1, c2 := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	eps := addrs("127.70.0.1:80", "127.70.0.2:80", "127.70.0.3:80")
	type step struct {
		advance time.Duration
		client  netip.Addr
		update  []netip.AddrPort // non-nil: replace endpoints first
		same    bool             // want the same endpoint as this client's previous pick
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"sticks within timeout", []step{
			{client: c1}, {advance: 30 * time.Second, client: c1, same: true},
			{advance: 59 * time.Second, client: c1, same: true},
		}},
		{"timeout counts from last use", []step{
			{client: c1}, {advance: 50 * time.Second, client: c1, same: true},
			{advance: 50 * time.Second, client: c1, same: true},
		}},
		{"expires after timeout", []step{
			{client: c1}, {advance: 61 * time.Second, client: c1, same: false},
		}},
		{"clients are independent", []step{
			{client: c1}, {client: c2}, {client: c1, same: true}, {client: c2, same: true},
		}},
		{"moves when its endpoint leaves", []step{
			{client: c1}, {client: c1, update: eps[:0:0], same: false},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1000, 0)}
			b := newBalancer(clk.now)
			b.update(target{Endpoints: eps, Affinity: time.Minute})
			prev := map[netip.Addr]*endpoint{}
			for i, s := range c.steps {
				clk.step(s.advance)
				if s.update != nil {
					// Keep every endpoint but the client's current one.
					var keep []netip.AddrPort
					for _, a := range eps {
						if a != prev[s.client].addr {
							keep = append(keep, a)
						}
					}
					b.update(target{Endpoints: keep, Affinity: time.Minute})
				}
				got := b.pick(s.client, nil)
				if p, ok := prev[s.client]; ok && (got == p) != s.same {
					t.Fatalf("step %d: picked %s after %s, want same=%v", i, got.str, p.str, s.same)
				}
				prev[s.client] = got
			}
		})
	}
}

func TestBalancerAffinityOffClearsTable(t *testing.T) {
	b := newBalancer(time.Now)
	b.update(target{Endpoints: addrs("127.70.0.1:80", "127.70.0.2:80"), Affinity: time.Hour})
	b.pick(netip.MustParseAddr("127.0.0.2"), nil)
	b.update(target{Endpoints: addrs("127.70.0.1:80", "127.70.0.2:80")})
	if b.clients != nil {
		t.Fatal("affinity table kept after affinity was turned off")
	}
	x := b.pick(netip.MustParseAddr("127.0.0.2"), nil)
	if y := b.pick(netip.MustParseAddr("127.0.0.2"), nil); x == y {
		t.Fatal("still sticky without affinity")
	}
}

func TestBalancerAffinitySweep(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	b := newBalancer(clk.now)
	b.update(target{Endpoints: addrs("127.70.0.1:80"), Affinity: 10 * time.Second})
	for i := range 100 {
		b.pick(netip.AddrFrom4([4]byte{127, 0, 1, byte(i)}), nil)
	}
	clk.step(2 * sweepEvery)
	b.pick(netip.MustParseAddr("127.0.0.2"), nil)
	if len(b.clients) != 1 {
		t.Fatalf("%d affinity entries after expiry, want 1", len(b.clients))
	}
}
