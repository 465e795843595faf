package controlplane

import (
	"context"

	"github.com/skiff-dev/skiff/internal/controller/daemonset"
)

// daemonSetWorkers is Kubernetes' default --concurrent-daemonset-syncs.
const daemonSetWorkers = 2

// startDaemonSet builds the DaemonSet controller over the shared
// informers.
func startDaemonSet(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	a := cc.Informers.Apps().V1()
	c, err := daemonset.New(cc.Client, a.DaemonSets(), a.ControllerRevisions(), cc.Informers.Core().V1().Pods(), cc.Informers.Core().V1().Nodes(), cc.Log, daemonset.Options{})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return c.Run(ctx, daemonSetWorkers) }, nil
}
