// Package deployment is the Deployment controller: it rolls a Deployment's
// pod template out through ReplicaSets, as Kubernetes'
// pkg/controller/deployment does, so that `kubectl rollout status |
// history | undo | pause | resume | restart` see what they see on a real
// cluster.
//
// # Files
//
//   - controller.go: New, Run, informer handlers, the work loop.
//   - sync.go: the sync dispatcher (deletion → paused → rollback →
//     scaling → strategy), finding/creating the new ReplicaSet, scaling,
//     history cleanup and status.
//   - rolling.go, recreate.go: the two strategies.
//   - progress.go: Progressing/Available conditions and the progress
//     deadline.
//   - rollback.go: the deprecated rollback annotation (apps/v1 has no
//     spec.rollbackTo; `kubectl rollout undo` patches the template itself).
//   - replicas.go, annotations.go, hash.go: pure rollout arithmetic
//     (max surge/unavailable, proportional scaling, scale-down plans),
//     revision annotations and the pod-template-hash; tested by tables.
//
// # Invariants
//
// The new ReplicaSet is "<deployment>-<pod-template-hash>", its template
// equals the Deployment's apart from the pod-template-hash label, its
// selector and labels carry that label, and it is controlled by the
// Deployment. Cached objects are deep-copied before they are changed.
//
// It talks to the API only through client-go and imports k8s.io packages
// and skiff's controller/ownerref.
package deployment
