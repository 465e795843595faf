package controlplane

import (
	"context"

	"github.com/skiff-dev/skiff/internal/controller/deployment"
)

// deploymentWorkers is Kubernetes' default --concurrent-deployment-syncs.
const deploymentWorkers = 5

// startDeployment builds the Deployment controller over the shared
// informers.
func startDeployment(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	c, err := deployment.New(cc.Client, cc.Informers.Apps().V1().Deployments(), cc.Informers.Apps().V1().ReplicaSets(), cc.Informers.Core().V1().Pods(), cc.Log, deployment.Options{})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return c.Run(ctx, deploymentWorkers) }, nil
}
