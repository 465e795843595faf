package main

import (
	_ "unsafe" // for go:linkname

	"k8s.io/component-base/version" // the variables below live there

	"github.com/skiff-dev/skiff/internal/buildinfo"
)

// The embedded kubectl reports the version of the k8s.io/kubectl module it
// is built from. Upstream stamps these with -ldflags -X at release time;
// skiff sets them at start so that a plain `go build` reports them too
// (an unstamped "v0.0.0-master" makes `kubectl version` fail).

//go:linkname kubectlGitVersion k8s.io/component-base/version.gitVersion
var kubectlGitVersion string

//go:linkname kubectlGitMajor k8s.io/component-base/version.gitMajor
var kubectlGitMajor string

//go:linkname kubectlGitMinor k8s.io/component-base/version.gitMinor
var kubectlGitMinor string

//go:linkname kubectlGitTreeState k8s.io/component-base/version.gitTreeState
var kubectlGitTreeState string

func stampKubectlVersion() {
	kubectlGitVersion = buildinfo.KubeVersion
	kubectlGitMajor = buildinfo.KubeMajor
	kubectlGitMinor = buildinfo.KubeMinor
	kubectlGitTreeState = "clean"
	// GitVersion is served from a copy taken at init; refresh it (a value
	// equal to gitVersion is always accepted).
	_ = version.SetDynamicVersion(kubectlGitVersion)
}
