// Package scheduler binds pending pods to nodes, as kube-scheduler's
// default profile does, talking to the API only through client-go.
//
// # Structure
//
// The package is split like Nomad's scheduler and kube-scheduler's
// framework: decisions are pure, side effects sit at the edge.
//
//   - [NodeInfo] and [PodInfo] (nodeinfo.go, resources.go) are a read-only
//     view of one node, the pods assigned to it and what they request.
//   - Filters (filters.go, interpod.go) decide whether a pod fits a node and
//     say why not, with Kubernetes' reason texts ("Insufficient cpu",
//     "node(s) didn't match Pod's node affinity/selector").
//   - Scores (scores.go) rank the nodes that fit: spreading of one owner's
//     or service's pods, least allocated, balanced allocation,
//     PreferNoSchedule taints and preferred node affinity.
//   - The planner (planner.go) runs filters and scores over a snapshot and
//     picks the best node, ties broken by a hash of the pod UID and the node
//     name, so that a decision is reproducible. A pod that fits nowhere gets
//     a [FitError] whose text is kube-scheduler's ("0/3 nodes are
//     available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node
//     affinity/selector.").
//   - The cache (cache.go) keeps node infos up to date from the informers,
//     plus pods the scheduler assumed on a node whose binding it has not
//     yet observed. Node infos are copy-on-write, so a snapshot is a slice
//     of pointers taken in O(nodes) and never changes under the planner.
//   - The queue (queue.go) holds pending pods: active (priority, then
//     age), backing off, and unschedulable until the cluster changes.
//   - The [Scheduler] (scheduler.go, bind.go) decides one pod at a time in
//     one goroutine and hands bindings, PodScheduled=False status updates
//     and events to a pool of workers, so that decisions never wait for an
//     API round trip.
//
// # Imports
//
// k8s.io/api, apimachinery, client-go and component-helpers (node
// affinity matching, the exact upstream semantics). Never other skiff
// components: they meet through the API.
//
// # Caveats
//
// Not implemented: preemption, topology spread constraints, volume and
// DRA filters, namespaceSelector in pod (anti-)affinity terms other than
// the empty selector (all namespaces), preferred inter-pod affinity
// scores, scheduling gates are honoured only by skipping gated pods.
package scheduler
