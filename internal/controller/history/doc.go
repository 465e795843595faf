// Package history keeps the ControllerRevisions of DaemonSets and
// StatefulSets as Kubernetes' pkg/controller/history does: a revision is
// "<owner>-<hash>", carries a strategic merge patch that restores the
// owner's pod template ({"spec":{"template":{…,"$patch":"replace"}}}, the
// shape `kubectl rollout undo` applies), a monotonically growing revision
// number, the template's labels and a ControllerRef to its owner.
//
// # Hashes
//
// Two hashes exist upstream and both are kept here: Hash (FNV-32 of the
// revision's data plus the collision count, used for StatefulSet revision
// names and the controller.kubernetes.io/hash label) and TemplateHash
// (controller.ComputeHash of the pod template, used for DaemonSet
// revision names and the controller-revision-hash label). On a name
// collision with a revision of different data the owner's
// status.collisionCount is bumped and the name probed again.
//
// It imports only k8s.io packages and skiff's controller/ownerref; it
// writes through a kubernetes.Interface and reads through a lister.
package history
