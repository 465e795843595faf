package dns

import (
	"errors"
	"fmt"
	"time"

	mdns "github.com/miekg/dns"
)

// Config configures a Server. The zero value of each field is the default.
type Config struct {
	// Zone is the cluster domain ("cluster.local.").
	Zone string
	// ListenAddr is where UDP and TCP are served ("127.0.0.1:0" picks a
	// free port, the same for both).
	ListenAddr string
	// Upstreams are the resolvers ("ip:port") for names outside the zone.
	// Nil means the nameservers of ResolvConf; an empty non-nil slice means
	// none (such queries get SERVFAIL).
	Upstreams []string
	// ResolvConf is read when Upstreams is nil ("/etc/resolv.conf").
	ResolvConf string
	// TTL of positive answers (30s) and NegativeTTL of negative ones, the
	// SOA minimum (5s).
	TTL, NegativeTTL time.Duration
	// ForwardTimeout bounds one upstream exchange (2s).
	ForwardTimeout time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Zone == "" {
		c.Zone = "cluster.local."
	}
	c.Zone = mdns.CanonicalName(c.Zone)
	if _, ok := mdns.IsDomainName(c.Zone); !ok {
		return c, fmt.Errorf("dns: zone %q is not a domain name", c.Zone)
	}
	if c.ListenAddr == "" {
		return c, errors.New("dns: ListenAddr is required")
	}
	if c.ResolvConf == "" {
		c.ResolvConf = "/etc/resolv.conf"
	}
	if c.TTL == 0 {
		c.TTL = 30 * time.Second
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = 5 * time.Second
	}
	if c.ForwardTimeout == 0 {
		c.ForwardTimeout = 2 * time.Second
	}
	return c, nil
}

// zoneInfo is what the pure answer logic needs of the configuration.
type zoneInfo struct {
	Zone        string // canonical, lowercase, with the final dot
	TTL, NegTTL uint32
	Serial      uint32
}
