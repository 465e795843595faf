// Package podip hands out pod addresses from a node's pod CIDR in host
// network mode: every address in 127.0.0.0/8 is local on Linux, so a pod
// can bind to its own address without any setup.
//
// Allocations are files in a directory (one file per address, named after
// it, holding the owner's id), created with O_EXCL, like the host-local
// CNI plugin: they survive a restart of the agent, and an address is never
// handed out twice. The network address, the first host address (kept for
// a gateway, as Kubernetes does) and the broadcast address are never
// allocated.
//
// This package imports only the standard library.
package podip
