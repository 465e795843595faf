package proxy

import (
	"fmt"
	"net/netip"
	"time"
)

// Config tunes a Proxier. The zero value works (node IP 127.0.0.1).
type Config struct {
	// NodeIPs are the addresses NodePorts listen on (default 127.0.0.1,
	// the node IP in host network mode).
	NodeIPs []string
	// NodeName selects this node's endpoints for services with
	// internalTrafficPolicy or externalTrafficPolicy Local. Empty: the
	// policies are treated as Cluster.
	NodeName string
	// DialTimeout bounds one connect to an endpoint (default 2s).
	DialTimeout time.Duration
	// DialAttempts is how many endpoints a connection tries before it is
	// reset (default 3).
	DialAttempts int
	// UDPIdleTimeout closes a UDP client association after this long
	// without a datagram either way (default 30s, the kernel's conntrack
	// timeout for unreplied UDP).
	UDPIdleTimeout time.Duration
	// Now is the clock (default time.Now); tests inject one.
	Now func() time.Time
}

// Defaults.
const (
	defaultDialTimeout    = 2 * time.Second
	defaultDialAttempts   = 3
	defaultUDPIdleTimeout = 30 * time.Second
	// defaultAffinityTimeout is Kubernetes' default for
	// sessionAffinityConfig.clientIP.timeoutSeconds (3 hours).
	defaultAffinityTimeout = 10800 * time.Second
)

func (c Config) withDefaults() (Config, []netip.Addr, error) {
	if c.DialTimeout <= 0 {
		c.DialTimeout = defaultDialTimeout
	}
	if c.DialAttempts <= 0 {
		c.DialAttempts = defaultDialAttempts
	}
	if c.UDPIdleTimeout <= 0 {
		c.UDPIdleTimeout = defaultUDPIdleTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if len(c.NodeIPs) == 0 {
		c.NodeIPs = []string{"127.0.0.1"}
	}
	ips := make([]netip.Addr, 0, len(c.NodeIPs))
	for _, s := range c.NodeIPs {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return c, nil, fmt.Errorf("proxy: node IP %q: %w", s, err)
		}
		ips = append(ips, ip.Unmap())
	}
	return c, ips, nil
}
