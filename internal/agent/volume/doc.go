// Package volume makes a pod's volumes as plain directories on the host,
// for the node agent's process runtime (no root, no mount namespaces).
//
// Every volume of a pod is a directory under the pod's volumes directory
// (DATA/pods/<ns>_<name>_<uid>/volumes/<volume>), except hostPath and
// persistentVolumeClaim volumes, which are the host directory itself:
//
//   - emptyDir: an empty directory (mode 0777); with medium Memory and
//     when running as root, a tmpfs mounted on it (sizeLimit as its size),
//     which [UnmountAll] detaches before the pod's directory is removed;
//     without root a plain directory.
//   - hostPath: the host path, checked (or created) by its type as the
//     kubelet does.
//   - configMap, secret, downwardAPI, projected: one file per key or item,
//     written by [WritePayload] the way the kubelet's AtomicWriter does:
//     the files live in a hidden timestamped directory, "..data" is a
//     symlink to it and each top-level name is a symlink through
//     "..data", so that an update (a new directory, then one rename of
//     the "..data" link) is seen all at once by readers.
//   - persistentVolumeClaim (and generic ephemeral volumes, whose claim is
//     <pod>-<volume>): the local or hostPath directory of the bound
//     PersistentVolume; an unbound claim is a [MountError].
//
// A volume that cannot be set up yet (missing ConfigMap, unbound claim)
// is a [MountError]: the agent keeps the containers waiting in
// ContainerCreating and records a FailedMount event, as the kubelet does.
//
// The package imports only k8s.io/api and apimachinery; the agent gives it
// the API objects through [Sources].
package volume
