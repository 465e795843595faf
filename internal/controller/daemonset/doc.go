// Package daemonset is the DaemonSet controller: one pod of a DaemonSet
// on every eligible node, as Kubernetes' pkg/controller/daemon does.
//
// # Behaviour
//
//   - Eligibility (shouldRun): the template's nodeName, nodeSelector and
//     required node affinity must match the node; NoSchedule/NoExecute
//     taints must be tolerated, counting the tolerations every daemon pod
//     gets (not-ready and unreachable NoExecute; disk-, memory-,
//     pid-pressure and unschedulable NoSchedule; network-unavailable for
//     hostNetwork pods). A pod already running stays unless a NoExecute
//     taint evicts it. Resources are the scheduler's business.
//   - Pods are created, as upstream since 1.12, with a required node
//     affinity matchFields metadata.name In [node] and left to the
//     scheduler to bind; labels controller-revision-hash and
//     pod-template-generation; expectations stop a stale cache from
//     doubling pods; creations go in slow-start batches.
//   - Deleted: pods on nodes that no longer qualify, duplicates (oldest
//     kept), succeeded pods, failed pods (with a per-node backoff of 1s
//     doubling to 15m and a FailedDaemonPod event), and pods of nodes that
//     are gone (bound ones force-deleted: skiff has no pod GC).
//   - RollingUpdate with maxUnavailable (delete old, let manage recreate)
//     or maxSurge (new pod beside the old, old deleted once the new one is
//     available); OnDelete replaces pods only when users delete them.
//   - History: a ControllerRevision "<ds>-<template hash>" per template
//     whose data is {"spec":{"template":{…,"$patch":"replace"}}}, so that
//     `kubectl rollout history|undo` work; a rollback renumbers the old
//     revision instead of copying it; revisionHistoryLimit old revisions
//     not used by any pod are kept.
//   - Status: desired/current/updated NumberScheduled, numberMisscheduled,
//     numberReady, numberAvailable (minReadySeconds), numberUnavailable,
//     observedGeneration, collisionCount.
//
// # Files
//
// controller.go (New, Run, handlers), sync.go (sync, manage, pod
// creation/deletion), rolling.go, revisions.go, status.go, placement.go
// (pure placement and label decisions), expectations.go.
//
// It talks to the API only through client-go and imports k8s.io packages
// (component-helpers for node affinity and taints) and skiff's
// controller/history, controller/ownerref and controller/podcontrol.
package daemonset
