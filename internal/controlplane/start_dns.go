package controlplane

import (
	"context"

	"github.com/skiff-dev/skiff/internal/dns"
)

// startDNS builds the cluster DNS server over the shared informers
// (services, EndpointSlices, pods); it forwards names outside the zone to
// the resolvers of /etc/resolv.conf.
func startDNS(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	s, err := dns.New(dns.Config{Zone: "cluster.local.", ListenAddr: cc.DNSAddr}, cc.Informers, cc.Log)
	if err != nil {
		return nil, err
	}
	return s.Run, nil
}
