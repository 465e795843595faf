// Package buildinfo says which versions this binary is: skiff's own and the
// Kubernetes API it serves. It imports only k8s.io/apimachinery's version
// type.
package buildinfo

import (
	"runtime"

	"k8s.io/apimachinery/pkg/version"
)

// Version is skiff's version (set with -ldflags -X at release time).
var Version = "0.1.0-dev"

// Kubernetes API served: types from k8s.io/api v0.37.2.
const (
	KubeMajor   = "1"
	KubeMinor   = "37"
	KubeVersion = "v1.37.2"
)

// Info is what /version answers. kubectl compares major/minor with its
// own, and the system kubectl dispatcher picks its bundled minor from it.
func Info() version.Info {
	return version.Info{
		Major:        KubeMajor,
		Minor:        KubeMinor,
		GitVersion:   KubeVersion + "-skiff." + Version,
		GitCommit:    "",
		GitTreeState: "clean",
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}
