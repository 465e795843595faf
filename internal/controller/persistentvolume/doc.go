// Package persistentvolume is skiff's PersistentVolume controller and
// local-path provisioner: it binds PersistentVolumeClaims to
// PersistentVolumes as Kubernetes' pkg/controller/volume/persistentvolume
// does, provisions a directory volume per claim (the shape of rancher's
// local-path provisioner) and reclaims volumes whose claim is gone.
//
// # Behaviour
//
//   - At start, a StorageClass "local-path" (provisioner
//     skiff.dev/local-path, reclaimPolicy Delete, volumeBindingMode
//     Immediate) is created if no class of that name exists; it is marked
//     default (storageclass.kubernetes.io/is-default-class) unless another
//     class already is. An existing class is never changed.
//   - A claim without spec.storageClassName gets the default class (the
//     newest default if several), by an update of the claim. Upstream
//     does this at create time in the DefaultStorageClass admission
//     plugin; this is the fallback until skiff's API server does too.
//   - An unbound claim binds to a volume pre-bound to it, else to the
//     smallest Available volume of its class with enough capacity, the
//     requested access modes, the same volume mode and labels matching
//     its selector. Failing that, a claim of a class with provisioner
//     skiff.dev/local-path gets a new volume "pvc-<claim uid>": directory
//     <VolumesDir>/pvc-<uid> (mode 0777), hostPath source (type
//     DirectoryOrCreate), capacity = request, the claim's access modes
//     and volume mode, the class's reclaim policy and mount options, node
//     affinity kubernetes.io/hostname = the node (the claim's
//     volume.kubernetes.io/selected-node, else Options.NodeName).
//     Claims of WaitForFirstConsumer classes wait for selected-node;
//     since skiff's scheduler does not set it, the controller sets it to
//     the node of the oldest live pod placed on a node that uses the
//     claim.
//   - Binding writes, in upstream's order and each step idempotent:
//     pv.spec.claimRef, pv.status.phase Bound, pvc.spec.volumeName and
//     annotations pv.kubernetes.io/bind-completed (and
//     pv.kubernetes.io/bound-by-controller), pvc.status phase, capacity
//     and accessModes. Provisioned volumes carry
//     pv.kubernetes.io/provisioned-by and bound-by-controller.
//   - When a bound claim is deleted, its volume becomes Released, then:
//     Retain keeps volume and directory; Delete removes the directory
//     (computed from the volume's name, never read from its spec) and the
//     volume, for volumes this provisioner made; other Delete volumes and
//     Recycle go Failed with a message. A bound claim whose volume
//     disappears goes Lost.
//
// # Files
//
// controller.go (New, Run, queue, handlers), class.go (default class),
// claim.go (claim sync), match.go (pure volume matching), bind.go,
// provision.go, volume.go (volume sync, release, reclaim).
//
// It talks to the API only through client-go, imports only k8s.io
// packages and the standard library, and writes only under VolumesDir.
package persistentvolume
