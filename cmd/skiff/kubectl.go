package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	"github.com/skiff-dev/skiff/internal/controlplane"
)

// runKubectl runs the real kubectl (k8s.io/kubectl) with args. Without
// KUBECONFIG or --kubeconfig it uses the local server's admin kubeconfig.
func runKubectl(args []string) {
	if os.Getenv("KUBECONFIG") == "" && !hasKubeconfigFlag(args) {
		if path := controlplane.KubeconfigPath(defaultDataDir()); fileExists(path) {
			os.Setenv("KUBECONFIG", path)
		}
	}
	stampKubectlVersion()
	os.Args = append([]string{"kubectl"}, args...)
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}

func hasKubeconfigFlag(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--kubeconfig" || len(a) > 13 && a[:13] == "--kubeconfig=" {
			return true
		}
	}
	return false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
