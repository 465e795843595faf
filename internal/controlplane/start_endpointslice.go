package controlplane

import (
	"context"

	"github.com/skiff-dev/skiff/internal/controller/endpointslice"
)

// Kubernetes' defaults for --concurrent-service-endpoint-syncs and
// --mirroring-concurrent-service-endpoint-syncs.
const (
	endpointSliceWorkers          = 5
	endpointSliceMirroringWorkers = 5
)

// startEndpointSlice builds the EndpointSlice controller over the shared
// informers.
func startEndpointSlice(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	c, err := endpointslice.New(cc.Client, cc.Informers.Core().V1().Services(), cc.Informers.Core().V1().Pods(), cc.Informers.Discovery().V1().EndpointSlices(), cc.Log, endpointslice.Options{})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return c.Run(ctx, endpointSliceWorkers) }, nil
}

// startEndpointSliceMirroring builds the mirroring controller (hand-made
// Endpoints of selector-less services → EndpointSlices).
func startEndpointSliceMirroring(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	m, err := endpointslice.NewMirroring(cc.Client, cc.Informers.Core().V1().Services(), cc.Informers.Core().V1().Endpoints(), cc.Informers.Discovery().V1().EndpointSlices(), cc.Log, endpointslice.Options{})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return m.Run(ctx, endpointSliceMirroringWorkers) }, nil
}
