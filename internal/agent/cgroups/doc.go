// Package cgroups puts a container's processes in a control group of its
// own with the CPU and memory limits of its spec, and tells afterwards
// whether the kernel's OOM killer ended it.
//
// Both cgroup versions are handled. With cgroup v2 (one unified
// hierarchy) the groups live under the hierarchy's root, in
// skiff/<node>/, as the kubelet's live in /kubepods (v2 forbids enabling
// controllers below a group that has processes of its own, such as the
// agent's). With cgroup v1 they live in the cpu and memory hierarchies
// below the agent's own group, so that whatever limits the agent (a
// container, a systemd slice) also limits its pods.
//
// A group is made before the container starts and the container's first
// process joins it itself, right before it execs the container's program
// (see the runtime package's shim): memory the shim touched before that
// stays charged to the agent's group, so a small limit is not used up by
// the shim.
//
// This package imports only the standard library.
package cgroups
