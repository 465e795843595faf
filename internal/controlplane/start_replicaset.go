package controlplane

import (
	"context"

	"github.com/skiff-dev/skiff/internal/controller/replicaset"
)

// replicaSetWorkers is Kubernetes' default --concurrent-replicaset-syncs.
const replicaSetWorkers = 5

// startReplicaSet builds the ReplicaSet controller over the shared
// informers.
func startReplicaSet(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	c, err := replicaset.New(cc.Client, cc.Informers.Apps().V1().ReplicaSets(), cc.Informers.Core().V1().Pods(), cc.Log, replicaset.Options{})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return c.Run(ctx, replicaSetWorkers) }, nil
}
