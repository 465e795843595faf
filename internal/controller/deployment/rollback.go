package deployment

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Rollback event reasons.
const (
	reasonRollbackRevisionNotFound  = "DeploymentRollbackRevisionNotFound"
	reasonRollbackTemplateUnchanged = "DeploymentRollbackTemplateUnchanged"
	reasonRollbackDone              = "DeploymentRollback"
)

// rollbackTo returns the revision asked for by the deprecated rollback
// annotation (what extensions/v1beta1's spec.rollbackTo converts to), or
// nil. `kubectl rollout undo` does not use it: it patches the template
// client-side, which the ordinary rollout then handles.
func rollbackTo(d *appsv1.Deployment) *int64 {
	v := d.Annotations[appsv1.DeprecatedRollbackTo]
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// rollback copies the template of the asked revision (0: the previous
// one) into d and clears the request.
func (c *Controller) rollback(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, allOld, err := c.allReplicaSetsAndSyncRevision(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	all := append(allOld, newRS)
	to := *rollbackTo(d)
	if to == 0 {
		if to = lastRevision(all); to == 0 {
			c.recorder.Event(d, corev1.EventTypeWarning, reasonRollbackRevisionNotFound, "Unable to find last revision.")
			return c.clearRollbackTo(ctx, d)
		}
	}
	for _, rs := range all {
		if v, err := revision(rs.Annotations); err != nil || v != to {
			continue
		}
		performed := false
		if !equalIgnoreHash(&d.Spec.Template, &rs.Spec.Template) {
			d.Spec.Template.ObjectMeta = *rs.Spec.Template.ObjectMeta.DeepCopy()
			d.Spec.Template.Spec = *rs.Spec.Template.Spec.DeepCopy()
			delete(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
			setDeploymentAnnotationsTo(d, rs)
			performed = true
		} else {
			c.recorder.Eventf(d, corev1.EventTypeWarning, reasonRollbackTemplateUnchanged, "The rollback revision contains the same template as current deployment %q", d.Name)
		}
		if err := c.clearRollbackTo(ctx, d); err != nil {
			return err
		}
		if performed {
			c.recorder.Eventf(d, corev1.EventTypeNormal, reasonRollbackDone, "Rolled back deployment %q to revision %d", d.Name, to)
		}
		return nil
	}
	c.recorder.Event(d, corev1.EventTypeWarning, reasonRollbackRevisionNotFound, "Unable to find the revision to rollback to.")
	return c.clearRollbackTo(ctx, d)
}

func (c *Controller) clearRollbackTo(ctx context.Context, d *appsv1.Deployment) error {
	delete(d.Annotations, appsv1.DeprecatedRollbackTo)
	if _, err := c.client.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update deployment %s: %w", key(d), err)
	}
	return nil
}
