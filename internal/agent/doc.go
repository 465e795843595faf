// Package agent is skiff's node agent (its kubelet): it registers a Node,
// renews the node's Lease, and runs the pods bound to the node as host
// process groups (see package runtime), each with its own loopback
// address (see package podip).
//
// # Pods
//
// One worker per pod (worker.go) does everything for it in one goroutine:
// init containers in order, containers, restarts by restartPolicy with
// the kubelet's CrashLoopBackOff timing (first restart at once, then 10s
// doubling to 5m, reset after 10 minutes of running), probes (probe.go),
// graceful termination (SIGTERM to the group, SIGKILL after the grace
// period, then DELETE with gracePeriodSeconds=0 and a UID precondition,
// as the kubelet does) and the status written through pods/status
// (status.go). Process exits and probe results only wake the worker.
//
// Commands are run from the host filesystem with Kubernetes' $(VAR)
// expansion (expand.go) and the full env/envFrom (env.go); a container
// without a command runs the program its image is aliased to
// (Config.ImageAliases). A container that cannot run gets a Warning event
// and a Waiting reason, never a crash of the agent.
//
// # Files
//
// Under Config.DataDir:
//
//	pods/<ns>_<name>_<uid>/state.json              what the agent knows (pids, ips, restarts)
//	pods/<ns>_<name>_<uid>/<container>/<n>.log     log of run n (CRI format, see runtime)
//	pods/<ns>_<name>_<uid>/<container>/<n>.pipe/   the run's stdout and stderr pipes
//	podip/<address>                                address allocations (see podip)
//
// A pod's directory is removed with the pod. A new agent reads the
// states, re-adopts the processes that still run (same pids, not
// restarted) and stops pods that were deleted meanwhile.
//
// # Pod addresses
//
// The node's pod CIDR is a /24 inside 127.0.0.0/8 (never 127.0.0.0/24):
// the Node's spec.podCIDR if set, else Config.PodCIDR, else one derived
// from the node name and data dir in 127.64.0.0/10. Every pod gets an
// address from it, exposed as status.podIP(s) and through the downward
// API; programs bind to it. Host network mode only, for now.
//
// # Logs
//
// [Agent.PodSubresources] serves GET pods/NAME/log (container, follow,
// previous, tailLines, sinceSeconds, sinceTime, timestamps, limitBytes)
// from the log files; the API server delegates to it.
//
// The agent talks to the API only through client-go. It imports
// k8s.io/*, and its own subpackages runtime and podip.
package agent
