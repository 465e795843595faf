package daemonset

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/internal/controller/ownerref"
	"github.com/skiff-dev/skiff/internal/controller/podcontrol"
)

// Event reasons of the DaemonSet controller, as Kubernetes records them
// (pod creation and deletion events come from podcontrol).
const (
	// SelectingAllReason: the DaemonSet's selector is empty.
	SelectingAllReason = "SelectingAll"
	// FailedDaemonPodReason: a daemon pod failed and will be replaced.
	FailedDaemonPodReason = "FailedDaemonPod"
)

// slowStartInitialBatch is the first batch of pod creations; batches
// double while they succeed (Kubernetes' SlowStartInitialBatchSize).
const slowStartInitialBatch = 1

// sync brings one DaemonSet to its desired state, as Kubernetes'
// syncDaemonSet: revisions first, then pods per node (manage), then the
// rolling update, history cleanup and status.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not ours to retry
	}
	cached, err := c.dsLister.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get daemonset %s: %w", key, err)
	}
	ds := cached.DeepCopy() // never mutate the cache
	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	if ds.Spec.Selector == nil || reflect.DeepEqual(*ds.Spec.Selector, metav1.LabelSelector{}) {
		c.recorder.Eventf(ds, corev1.EventTypeWarning, SelectingAllReason, "This daemon set is selecting all pods. A non-empty selector is required.")
		return nil
	}
	// Being deleted: the garbage collector removes pods and revisions in
	// no particular order, so status cannot be computed reliably.
	if ds.DeletionTimestamp != nil {
		return nil
	}
	cur, old, err := c.constructHistory(ctx, ds)
	if err != nil {
		return fmt.Errorf("construct revisions of daemonset %s: %w", key, err)
	}
	hash := cur.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]

	if !c.exp.satisfied(key) {
		// Only status; observedGeneration stays, as this generation has
		// not been acted on.
		return c.updateStatus(ctx, ds, nodes, hash, false)
	}
	if err := c.manage(ctx, ds, nodes, hash); err != nil {
		return err
	}
	if c.exp.satisfied(key) && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if err := c.rollingUpdate(ctx, ds, nodes, hash); err != nil {
			return err
		}
	}
	if err := c.cleanupHistory(ctx, ds, old); err != nil {
		return fmt.Errorf("clean up revisions of daemonset %s: %w", key, err)
	}
	return c.updateStatus(ctx, ds, nodes, hash, true)
}

// daemonPods returns the pods ds controls, adopting matching orphans and
// releasing owned pods that no longer match.
func (c *Controller) daemonPods(ctx context.Context, ds *appsv1.DaemonSet) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of daemonset %s: %w", dsKey(ds), err)
	}
	// Every pod of the namespace, so that owned pods whose labels changed
	// are seen and released.
	all, err := c.podLister.Pods(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	cl := ownerref.NewClaimer(ds, controllerKind, sel, "Pod", c.getFresh(ds), func(ctx context.Context, ns, name string, p []byte) error {
		_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, p, metav1.PatchOptions{})
		return err
	})
	return ownerref.Claim(ctx, cl, all)
}

func (c *Controller) getFresh(ds *appsv1.DaemonSet) ownerref.GetOwnerFunc {
	return func(ctx context.Context) (metav1.Object, error) {
		return c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	}
}

// nodesToDaemonPods maps node names to ds's pods for them (bound or
// still waiting for the scheduler). Deleted pods that already finished
// are left out unless includeDeletedTerminal.
func (c *Controller) nodesToDaemonPods(ctx context.Context, ds *appsv1.DaemonSet, includeDeletedTerminal bool) (map[string][]*corev1.Pod, error) {
	pods, err := c.daemonPods(ctx, ds)
	if err != nil {
		return nil, err
	}
	m := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if !includeDeletedTerminal && p.DeletionTimestamp != nil && isTerminal(p) {
			continue
		}
		node, err := targetNodeName(p)
		if err != nil {
			c.log.Warn("daemon pod has no target node", "pod", podcontrol.Key(p))
			continue
		}
		m[node] = append(m[node], p)
	}
	return m, nil
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
}

// manage creates a pod on every node that should run one and lacks it,
// and deletes pods that must go: failed (with backoff per node), excess
// duplicates, pods on nodes that no longer qualify or no longer exist.
func (c *Controller) manage(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, hash string) error {
	byNode, err := c.nodesToDaemonPods(ctx, ds, false)
	if err != nil {
		return fmt.Errorf("map nodes to daemon pods of %s: %w", dsKey(ds), err)
	}
	var create, del []string
	var force []*corev1.Pod
	known := make(map[string]bool, len(nodes))
	for _, node := range nodes {
		known[node.Name] = true
		cr, dl := c.podsShouldBeOnNode(node, byNode, ds, hash)
		create = append(create, cr...)
		del = append(del, dl...)
	}
	// Pods for nodes that are gone. Unscheduled ones are deleted (as
	// upstream); bound ones would be force-deleted by Kubernetes' pod
	// garbage collector, which skiff does not have, so do it here: no
	// kubelet is left to finish a graceful deletion.
	for node, pods := range byNode {
		if known[node] {
			continue
		}
		for _, p := range pods {
			if p.DeletionTimestamp != nil && p.Spec.NodeName == "" {
				continue
			}
			if p.Spec.NodeName == "" {
				del = append(del, p.Name)
			} else {
				force = append(force, p)
			}
		}
	}
	if err := c.forceDelete(ctx, ds, force); err != nil {
		return err
	}
	return c.syncNodes(ctx, ds, del, create, hash)
}

// forceDelete removes pods bound to nodes that no longer exist, with a
// zero grace period.
func (c *Controller) forceDelete(ctx context.Context, ds *appsv1.DaemonSet, pods []*corev1.Pod) error {
	var errs []error
	zero := int64(0)
	for _, p := range pods {
		err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &p.UID}})
		switch {
		case err == nil:
			c.recorder.Eventf(ds, corev1.EventTypeNormal, podcontrol.SuccessfulDeleteReason, "Deleted pod: %v", p.Name)
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		default:
			errs = append(errs, fmt.Errorf("delete pod %s of a removed node: %w", podcontrol.Key(p), err))
		}
	}
	return utilerrors.NewAggregate(errs)
}

// podsShouldBeOnNode is Kubernetes' podsShouldBeOnNode: which nodes need
// a pod created and which pods on node must be deleted.
func (c *Controller) podsShouldBeOnNode(node *corev1.Node, byNode map[string][]*corev1.Pod, ds *appsv1.DaemonSet, hash string) (create, del []string) {
	run, keep := shouldRun(node, ds)
	pods, exists := byNode[node.Name]
	switch {
	case run && !exists:
		create = append(create, node.Name)
	case keep:
		var running []*corev1.Pod
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				continue
			}
			switch p.Status.Phase {
			case corev1.PodFailed:
				// The controller often fights a kubelet that rejects the
				// pod here: back off per node.
				bk := string(ds.UID) + "/" + node.Name
				now := c.now()
				if c.backoff.IsInBackOffSinceUpdate(bk, now) {
					c.queue.AddAfter(dsKey(ds), c.backoff.Get(bk))
					continue
				}
				c.backoff.Next(bk, now)
				c.recorder.Eventf(ds, corev1.EventTypeWarning, FailedDaemonPodReason, "Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, node.Name)
				del = append(del, p.Name)
			case corev1.PodSucceeded:
				del = append(del, p.Name)
			default:
				running = append(running, p)
			}
		}
		sortPods(running)
		if !allowsSurge(ds) {
			// One pod per node: keep the oldest.
			for _, p := range running[min(1, len(running)):] {
				del = append(del, p.Name)
			}
			break
		}
		if len(running) <= 1 {
			if len(running) == 0 && run {
				create = append(create, node.Name)
			}
			break
		}
		// Surging: keep the oldest new pod and the oldest old pod; the
		// old one goes once it is not ready or the new one is available.
		var oldestNew, oldestOld *corev1.Pod
		for _, p := range running {
			if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
				if oldestNew == nil {
					oldestNew = p
					continue
				}
			} else if oldestOld == nil {
				oldestOld = p
				continue
			}
			del = append(del, p.Name)
		}
		if oldestNew != nil && oldestOld != nil &&
			(!podcontrol.IsReady(oldestOld) || podcontrol.IsAvailable(oldestNew, ds.Spec.MinReadySeconds, c.now())) {
			del = append(del, oldestOld.Name)
		}
	case !keep && exists:
		for _, p := range pods {
			if p.DeletionTimestamp == nil {
				del = append(del, p.Name)
			}
		}
	}
	return create, del
}

// sortPods orders pods bound to a node first, then oldest first, then by
// name (Kubernetes' podByCreationTimestampAndPhase).
func sortPods(pods []*corev1.Pod) {
	slices.SortStableFunc(pods, func(a, b *corev1.Pod) int {
		if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
			if a.Spec.NodeName != "" {
				return -1
			}
			return 1
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			if a.CreationTimestamp.Before(&b.CreationTimestamp) {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// syncNodes deletes the named pods and creates one pod for each node in
// create, in slow-start batches, recording expectations first.
func (c *Controller) syncNodes(ctx context.Context, ds *appsv1.DaemonSet, del, create []string, hash string) error {
	key := dsKey(ds)
	nCreate, nDelete := min(len(create), burstReplicas), min(len(del), burstReplicas)
	c.exp.expect(key, nCreate, nDelete)
	template := podTemplate(ds, templateGeneration(ds), hash)
	ref := metav1.NewControllerRef(ds, controllerKind)

	var mu sync.Mutex
	var errs []error
	fail := func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }

	batch := min(nCreate, slowStartInitialBatch)
	for pos := 0; pos < nCreate; batch, pos = min(2*batch, nCreate-(pos+batch)), pos+batch {
		before := len(errs)
		var wg sync.WaitGroup
		for i := pos; i < pos+batch; i++ {
			node := create[i]
			wg.Go(func() {
				t := template.DeepCopy()
				// The scheduler binds the pod to node: no conflicting
				// node affinity can remain, the DaemonSet already
				// checked it.
				t.Spec.Affinity = nodeNameAffinity(t.Spec.Affinity, node)
				err := c.pods.CreatePod(ctx, ds.Namespace, t, ds, ds.Name, ref)
				if err != nil {
					c.exp.lower(key, 1, 0)
					if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
						fail(fmt.Errorf("create daemon pod for node %s: %w", node, err))
					}
				}
			})
		}
		wg.Wait()
		if skipped := nCreate - (pos + batch); len(errs) > before && skipped > 0 {
			c.exp.lower(key, skipped, 0)
			break
		}
	}

	var wg sync.WaitGroup
	for _, name := range del[:nDelete] {
		wg.Go(func() {
			if err := c.pods.DeletePod(ctx, ds.Namespace, name, ds); err != nil {
				c.exp.lower(key, 0, 1)
				if !apierrors.IsNotFound(err) {
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	return utilerrors.NewAggregate(errs)
}
