package controlplane

import (
	"context"

	"github.com/skiff-dev/skiff/internal/controller/garbagecollector"
)

// startGarbageCollector builds the garbage collector. It uses its own
// metadata informers (one per served resource), not the shared factory.
func startGarbageCollector(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	gc, err := garbagecollector.New(garbagecollector.Config{REST: cc.Config, Log: cc.Log})
	if err != nil {
		return nil, err
	}
	return gc.Run, nil
}
