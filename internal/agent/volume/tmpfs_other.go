//go:build !linux

package volume

import (
	"errors"

	"k8s.io/apimachinery/pkg/api/resource"
)

func mountTmpfs(string, *resource.Quantity) error {
	return errors.New("tmpfs volumes need Linux")
}

// UnmountAll does nothing where volumes are never mounts.
func UnmountAll(string) error { return nil }
