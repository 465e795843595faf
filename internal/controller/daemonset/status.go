package daemonset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/internal/controller/podcontrol"
)

// statusUpdateRetries is how often a status write is retried against a
// fresh read on conflict (Kubernetes' StatusUpdateRetries).
const statusUpdateRetries = 1

// computeStatus counts, over the nodes, what Kubernetes' DaemonSet
// status reports. For each node that should run the daemon, its oldest
// pod (bound first) is the one looked at.
func (c *Controller) computeStatus(ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string) appsv1.DaemonSetStatus {
	var st appsv1.DaemonSetStatus
	gen := templateGeneration(ds)
	now := c.now()
	for _, node := range nodes {
		run, _ := shouldRun(node, ds)
		pods := byNode[node.Name]
		if !run {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		sortPods(pods)
		p := pods[0]
		if podcontrol.IsReady(p) {
			st.NumberReady++
			if podcontrol.IsAvailable(p, ds.Spec.MinReadySeconds, now) {
				st.NumberAvailable++
			}
		}
		if isPodUpdated(p, hash, gen) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	return st
}

// updateStatus writes the counters (and observedGeneration when
// observed) if they changed.
func (c *Controller) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, hash string, observed bool) error {
	byNode, err := c.nodesToDaemonPods(ctx, ds, false)
	if err != nil {
		return fmt.Errorf("map nodes to daemon pods of %s: %w", dsKey(ds), err)
	}
	st := c.computeStatus(ds, nodes, byNode, hash)
	if err := c.storeStatus(ctx, ds, st, observed); err != nil {
		return err
	}
	// Pods turn available minReadySeconds after they turn ready.
	if ds.Spec.MinReadySeconds > 0 && st.NumberReady != st.NumberAvailable {
		c.queue.AddAfter(dsKey(ds), time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
	return nil
}

func (c *Controller) storeStatus(ctx context.Context, ds *appsv1.DaemonSet, st appsv1.DaemonSetStatus, observed bool) error {
	same := func(s appsv1.DaemonSetStatus) bool {
		return s.DesiredNumberScheduled == st.DesiredNumberScheduled &&
			s.CurrentNumberScheduled == st.CurrentNumberScheduled &&
			s.NumberMisscheduled == st.NumberMisscheduled &&
			s.NumberReady == st.NumberReady &&
			s.UpdatedNumberScheduled == st.UpdatedNumberScheduled &&
			s.NumberAvailable == st.NumberAvailable &&
			s.NumberUnavailable == st.NumberUnavailable
	}
	if same(ds.Status) && ds.Status.ObservedGeneration >= ds.Generation {
		return nil
	}
	api := c.client.AppsV1().DaemonSets(ds.Namespace)
	toUpdate := ds.DeepCopy()
	var err error
	for i := 0; ; i++ {
		if observed {
			toUpdate.Status.ObservedGeneration = ds.Generation
		}
		s := &toUpdate.Status
		s.DesiredNumberScheduled, s.CurrentNumberScheduled, s.NumberMisscheduled = st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberMisscheduled
		s.NumberReady, s.UpdatedNumberScheduled = st.NumberReady, st.UpdatedNumberScheduled
		s.NumberAvailable, s.NumberUnavailable = st.NumberAvailable, st.NumberUnavailable
		if _, err = api.UpdateStatus(ctx, toUpdate, metav1.UpdateOptions{}); err == nil {
			return nil
		}
		if i >= statusUpdateRetries {
			break
		}
		fresh, gerr := api.Get(ctx, ds.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("get daemonset %s: %w", dsKey(ds), gerr)
		}
		toUpdate = fresh
	}
	return fmt.Errorf("update status of daemonset %s: %w", dsKey(ds), err)
}
