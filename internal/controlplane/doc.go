// Package controlplane is skiff's composition root for `skiff server`: it
// starts the store (embedded etcd or an external cluster), builds the
// registry, the API server with TLS and its credentials, writes the admin
// kubeconfig and join token into the data directory, and runs the
// controllers against the API. It also routes pods/log, exec, attach and
// portforward to the pod's node agent (podproxy.go): in-process for the
// agent of this server's node, over HTTPS to the agent of any other node.
//
// It is the one package that imports every component; components never
// import each other.
package controlplane
