package controlplane

import (
	"context"

	"github.com/skiff-dev/skiff/internal/controller/statefulset"
)

// statefulSetWorkers is Kubernetes' default --concurrent-statefulset-syncs.
const statefulSetWorkers = 5

// startStatefulSet builds the StatefulSet controller over the shared
// informers.
func startStatefulSet(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	a, core := cc.Informers.Apps().V1(), cc.Informers.Core().V1()
	c, err := statefulset.New(cc.Client, a.StatefulSets(), core.Pods(), core.PersistentVolumeClaims(), a.ControllerRevisions(), cc.Log, statefulset.Options{})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return c.Run(ctx, statefulSetWorkers) }, nil
}
