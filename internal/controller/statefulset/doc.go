// Package statefulset is the StatefulSet controller: pods with stable
// names, network identities and storage, started and stopped in order,
// as Kubernetes' pkg/controller/statefulset does.
//
// # Behaviour
//
//   - Pods are "<set>-<ordinal>" for ordinals start…start+replicas-1
//     (spec.ordinals.start), with hostname = pod name, subdomain =
//     spec.serviceName, labels statefulset.kubernetes.io/pod-name,
//     apps.kubernetes.io/pod-index and controller-revision-hash.
//   - OrderedReady: a pod is created only when every lower ordinal is
//     Running, Ready and available (minReadySeconds); pods beyond the
//     range are deleted highest ordinal first, one at a time. Parallel:
//     all at once (slow-start batches).
//   - volumeClaimTemplates: claim "<template>-<set>-<ordinal>" is created
//     before its pod and mounted under the template's name; it outlives
//     the pod, so a recreated pod gets the same storage.
//     persistentVolumeClaimRetentionPolicy is expressed, as upstream, by
//     controller owner references on the claims (set for whenDeleted=
//     Delete, pod for whenScaled=Delete once scaled down) that the
//     garbage collector acts on.
//   - Failed or succeeded pods are deleted and come back with the same
//     name (RecreatingFailedPod / RecreatingTerminatedPod events).
//   - History: ControllerRevisions named "<set>-<hash of data and
//     collisionCount>" with data {"spec":{"template":{…,"$patch":
//     "replace"}}}; currentRevision and updateRevision in status; a
//     rollback renumbers the older revision; revisionHistoryLimit.
//   - RollingUpdate: pods with ordinal ≥ partition not at the update
//     revision are deleted highest first while fewer than maxUnavailable
//     (default 1) are unavailable; they come back at the update revision.
//     Below the partition, recreated pods keep the current revision.
//     OnDelete: only pods users delete change.
//   - Status: replicas, readyReplicas, availableReplicas, currentReplicas,
//     updatedReplicas, currentRevision, updateRevision,
//     observedGeneration, collisionCount.
//
// # Files
//
// controller.go (New, Run, handlers), sync.go (sync, adoption, status
// write), update.go (the ordered/parallel pass and the rolling update),
// pods.go (pod and claim writes, events), revisions.go, identity.go
// (pure naming, identity, storage and retention decisions).
//
// It talks to the API only through client-go and imports k8s.io packages
// and skiff's controller/history, controller/ownerref and
// controller/podcontrol.
package statefulset
