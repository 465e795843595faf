package controlplane

import (
	"context"
	"path/filepath"

	"github.com/skiff-dev/skiff/internal/controller/persistentvolume"
)

// persistentVolumeWorkers: claims and volumes share one queue; two
// workers keep a slow directory removal from holding up binding.
const persistentVolumeWorkers = 2

// startPersistentVolume builds the PersistentVolume controller and
// local-path provisioner over the shared informers. Volumes live in
// <data dir>/volumes on this server's node.
func startPersistentVolume(ctx context.Context, cc *controllerContext) (func(context.Context) error, error) {
	core := cc.Informers.Core().V1()
	c, err := persistentvolume.New(cc.Client, core.PersistentVolumeClaims(), core.PersistentVolumes(), cc.Informers.Storage().V1().StorageClasses(), core.Pods(), cc.Log,
		persistentvolume.Options{VolumesDir: filepath.Join(cc.DataDir, "volumes"), NodeName: cc.NodeName})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return c.Run(ctx, persistentVolumeWorkers) }, nil
}
