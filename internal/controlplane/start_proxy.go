package controlplane

import (
	"context"

	"github.com/skiff-dev/skiff/internal/proxy"
)

// startProxy builds the userspace service proxy over the shared
// informers (services, EndpointSlices). In host network mode the node IP,
// where NodePorts listen, is 127.0.0.1; the node name selects this node's
// endpoints for traffic policy Local.
func startProxy(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	p, err := proxy.New(proxy.Config{NodeIPs: []string{"127.0.0.1"}, NodeName: cc.NodeName}, cc.Informers, cc.Log)
	if err != nil {
		return nil, err
	}
	return p.Run, nil
}
