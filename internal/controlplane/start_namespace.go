package controlplane

import (
	"context"
	"fmt"

	"k8s.io/client-go/metadata"

	"github.com/skiff-dev/skiff/internal/controller/namespace"
)

// startNamespace builds the namespace controller on the shared namespace
// informer; it deletes content through a metadata client, so that it can
// delete any resource without knowing its Go type.
func startNamespace(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	mc, err := metadata.NewForConfig(cc.Config)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	c, err := namespace.New(namespace.Config{
		Client:     cc.Client,
		Metadata:   mc,
		Namespaces: cc.Informers.Core().V1().Namespaces(),
		Log:        cc.Log,
	})
	if err != nil {
		return nil, err
	}
	return c.Run, nil
}
