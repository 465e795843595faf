package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	mdns "github.com/miekg/dns"
)

// resolvConfUpstreams reads the nameservers of a resolv.conf as
// "ip:port".
func resolvConfUpstreams(path string) ([]string, error) {
	cc, err := mdns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	out := make([]string, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out, nil
}

// withoutSelf drops the upstreams that are this server: the same address,
// or the same port on a loopback or unspecified address when this server
// listens on an unspecified one.
func withoutSelf(upstreams []string, self netip.AddrPort) []string {
	var out []string
	for _, u := range upstreams {
		ap, err := netip.ParseAddrPort(u)
		if err != nil {
			continue
		}
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if ap == self {
			continue
		}
		if self.Addr().IsUnspecified() && ap.Port() == self.Port() && (ap.Addr().IsLoopback() || ap.Addr().IsUnspecified()) {
			continue
		}
		out = append(out, u)
	}
	return out
}

// forwarder sends questions outside the zone to upstream resolvers.
type forwarder struct {
	upstreams []string
	udp, tcp  *mdns.Client
}

func newForwarder(upstreams []string, timeout time.Duration) *forwarder {
	return &forwarder{
		upstreams: upstreams,
		udp:       &mdns.Client{Net: "udp", Timeout: timeout, UDPSize: mdns.DefaultMsgSize},
		tcp:       &mdns.Client{Net: "tcp", Timeout: timeout},
	}
}

// forward asks each upstream in turn, over the protocol the client used
// (retrying over TCP when a UDP answer comes back truncated and the client
// came over TCP), and answers SERVFAIL when none answers.
func (f *forwarder) forward(ctx context.Context, req *mdns.Msg, overTCP bool) *mdns.Msg {
	for _, u := range f.upstreams {
		c := f.udp
		if overTCP {
			c = f.tcp
		}
		resp, _, err := c.ExchangeContext(ctx, req, u)
		if err == nil && resp.Truncated && overTCP {
			resp, _, err = f.tcp.ExchangeContext(ctx, req, u)
		}
		if err != nil {
			continue
		}
		resp.Id = req.Id
		return resp
	}
	m := new(mdns.Msg)
	m.SetRcode(req, mdns.RcodeServerFailure)
	m.RecursionAvailable = true
	return m
}
