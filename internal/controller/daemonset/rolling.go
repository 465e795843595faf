package daemonset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/skiff-dev/skiff/internal/controller/podcontrol"
)

// rollingUpdate replaces old pods within the strategy's limits, as
// Kubernetes' rollingUpdate. Without surge it deletes old pods (manage
// recreates them on the next sync) while fewer than maxUnavailable nodes
// are unavailable; with surge it creates new pods beside old ones (at
// most maxSurge at a time) and deletes an old pod once its replacement
// is available.
func (c *Controller) rollingUpdate(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, hash string) error {
	byNode, err := c.nodesToDaemonPods(ctx, ds, false)
	if err != nil {
		return fmt.Errorf("map nodes to daemon pods of %s: %w", dsKey(ds), err)
	}
	maxSurge, maxUnavailable, desired, err := c.updatedDesiredNodeCounts(ds, nodes, byNode)
	if err != nil {
		return err
	}
	now := c.now()
	gen := templateGeneration(ds)
	available := func(p *corev1.Pod) bool { return podcontrol.IsAvailable(p, ds.Spec.MinReadySeconds, now) }

	if maxSurge == 0 {
		var unavailable int
		var replace, candidates []string
		for _, node := range sortedKeys(byNode) {
			newPod, oldPod, ok := findUpdatedPodsOnNode(byNode[node], hash, gen)
			switch {
			case !ok, oldPod == nil && newPod == nil, oldPod != nil && newPod != nil:
				// manage sorts these nodes out; they count as unavailable.
				unavailable++
			case newPod != nil:
				if !available(newPod) {
					unavailable++
				}
			case !available(oldPod):
				// An old pod that is down anyway may be replaced at once.
				replace = append(replace, oldPod.Name)
				unavailable++
			case unavailable >= maxUnavailable:
			default:
				candidates = append(candidates, oldPod.Name)
			}
		}
		n := min(max(maxUnavailable-unavailable, 0), len(candidates))
		return c.syncNodes(ctx, ds, append(replace, candidates[:n]...), nil, hash)
	}

	var del, shouldNotRun, candidateNodes, allowedNodes []string
	var surging, numAvailable int
	for _, nodeName := range sortedKeys(byNode) {
		newPod, oldPod, ok := findUpdatedPodsOnNode(byNode[nodeName], hash, gen)
		if !ok {
			surging++
			continue
		}
		if oldPod != nil && available(oldPod) || oldPod == nil && newPod != nil && available(newPod) {
			numAvailable++
		}
		switch {
		case oldPod == nil:
			// manage handles this node.
		case newPod == nil:
			node, err := c.nodeLister.Get(nodeName)
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("get node %s: %w", nodeName, err)
			}
			run := false
			if node != nil {
				run, _ = shouldRun(node, ds)
			}
			switch {
			case !available(oldPod) && !run:
				del = append(del, oldPod.Name)
			case !available(oldPod):
				allowedNodes = append(allowedNodes, nodeName)
			case !run:
				shouldNotRun = append(shouldNotRun, oldPod.Name)
			case surging >= maxSurge:
			default:
				candidateNodes = append(candidateNodes, nodeName)
			}
		default:
			if !available(newPod) {
				surging++
				continue
			}
			del = append(del, oldPod.Name)
		}
	}
	// With surge the owner expects full availability: a pod on a node
	// that no longer qualifies goes only once enough pods are available
	// elsewhere.
	if n := min(numAvailable-desired, len(shouldNotRun)); n > 0 {
		del = append(del, shouldNotRun[:n]...)
	}
	n := min(max(maxSurge-surging, 0), len(candidateNodes))
	return c.syncNodes(ctx, ds, del, append(allowedNodes, candidateNodes[:n]...), hash)
}

// findUpdatedPodsOnNode returns the node's live new and old pod; ok is
// false when there is more than one of either (manage prunes those).
func findUpdatedPodsOnNode(pods []*corev1.Pod, hash string, gen *int64) (newPod, oldPod *corev1.Pod, ok bool) {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if isPodUpdated(p, hash, gen) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = p
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = p
		}
	}
	return newPod, oldPod, true
}

// updatedDesiredNodeCounts scales maxSurge and maxUnavailable to the
// nodes that should run the daemon and adds an empty entry to byNode for
// each of them without pods. When both limits come out 0 it allows one
// unavailable node, as upstream, so that updates progress.
func (c *Controller) updatedDesiredNodeCounts(ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod) (maxSurge, maxUnavailable, desired int, err error) {
	for _, node := range nodes {
		if run, _ := shouldRun(node, ds); !run {
			continue
		}
		desired++
		if _, ok := byNode[node.Name]; !ok {
			byNode[node.Name] = nil
		}
	}
	if maxUnavailable, err = unavailableCount(ds, desired); err != nil {
		return 0, 0, 0, fmt.Errorf("invalid maxUnavailable of daemonset %s: %w", dsKey(ds), err)
	}
	if maxSurge, err = surgeCount(ds, desired); err != nil {
		return 0, 0, 0, fmt.Errorf("invalid maxSurge of daemonset %s: %w", dsKey(ds), err)
	}
	if desired > 0 && maxUnavailable == 0 && maxSurge == 0 {
		maxUnavailable = 1
	}
	return maxSurge, maxUnavailable, desired, nil
}
