package main

import (
	"fmt"

	"github.com/skiff-dev/skiff/internal/buildinfo"
)

func runVersion() {
	info := buildinfo.Info()
	fmt.Printf("skiff %s\nKubernetes API %s (%s)\n%s %s\n", buildinfo.Version, buildinfo.KubeVersion, info.GitVersion, info.GoVersion, info.Platform)
}
