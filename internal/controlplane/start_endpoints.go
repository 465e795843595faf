package controlplane

import (
	"context"

	"github.com/skiff-dev/skiff/internal/controller/endpoints"
)

// endpointsWorkers is Kubernetes' default --concurrent-endpoint-syncs.
const endpointsWorkers = 5

// startEndpoints builds the Endpoints controller over the shared
// informers.
func startEndpoints(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	c, err := endpoints.New(cc.Client, cc.Informers.Core().V1().Services(), cc.Informers.Core().V1().Pods(), cc.Informers.Core().V1().Endpoints(), cc.Log, endpoints.Options{})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return c.Run(ctx, endpointsWorkers) }, nil
}
