package controlplane

import (
	"context"

	"github.com/skiff-dev/skiff/internal/scheduler"
)

// startScheduler runs the default scheduler, binding pending pods to nodes.
func startScheduler(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	s, err := scheduler.New(cc.Client, cc.Informers, cc.Log, scheduler.Options{})
	if err != nil {
		return nil, err
	}
	return s.Run, nil
}
