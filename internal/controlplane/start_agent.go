package controlplane

import (
	"context"
	"path/filepath"

	"github.com/skiff-dev/skiff/internal/agent"
)

// startAgent runs the local node agent: it registers the node named
// cc.NodeName and runs the pods bound to it, keeping its state and logs
// under cc.DataDir/agent. The agent uses its own informers (pods of its
// node only), not the shared factory.
func startAgent(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	a, err := agent.New(agent.Config{
		NodeName:       cc.NodeName,
		DataDir:        filepath.Join(cc.DataDir, "agent"),
		ImageAliases:   cc.ImageAliases,
		StopPodsOnExit: cc.StopPodsOnExit,
	}, cc.Client, cc.Log)
	if err != nil {
		return nil, err
	}
	if cc.SetPodSubresources != nil {
		cc.SetPodSubresources(a.PodSubresources())
	}
	return a.Run, nil
}
