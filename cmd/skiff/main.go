// Command skiff is the Kubernetes workload model in one binary: `skiff
// server` runs the control plane (and, later, a node agent), `skiff
// kubectl` the real kubectl, `skiff version` the versions.
package main

import (
	"fmt"
	"os"
)

const usage = `skiff — the Kubernetes workload model in one binary

Usage:
  skiff server [flags]     run the control plane (API server, etcd, controllers) and a node agent
  skiff agent [flags]      join this machine to a server as a node
  skiff kubectl ARGS...    run kubectl against the local server
  skiff version            print versions

Run 'skiff server -h' or 'skiff agent -h' for their flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "agent":
		err = runAgent(os.Args[2:])
	case "kubectl":
		runKubectl(os.Args[2:])
		return
	case "version", "--version":
		runVersion()
		return
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "skiff: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: %v\n", err)
		os.Exit(1)
	}
}
