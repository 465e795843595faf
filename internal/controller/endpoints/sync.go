package endpoints

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// sync makes the Endpoints of one service (key "ns/name") match its pods.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // malformed keys never heal
	}
	svc, err := c.svcLister.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The service is gone: so are its Endpoints, whoever made them.
		err := c.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpoints %s: %w", key, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Spec.Selector == nil {
		return nil // selector-less: the Endpoints are the user's
	}
	pods, err := c.podLister.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return fmt.Errorf("list pods for %s: %w", key, err)
	}
	d := computeSubsets(svc, pods)

	cur, err := c.epLister.Endpoints(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	wantLabels := endpointsLabels(svc)
	if cur != nil && equality.Semantic.DeepEqual(cur.Subsets, d.Subsets) &&
		equality.Semantic.DeepEqual(cur.Labels, wantLabels) &&
		(cur.Annotations[annotationOverCapacity] == "truncated") == d.Truncated {
		return nil
	}
	var ep *corev1.Endpoints
	if cur == nil {
		ep = &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	} else {
		ep = cur.DeepCopy()
	}
	ep.Labels = wantLabels
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	if d.TriggerTime.IsZero() {
		delete(ep.Annotations, annotationTriggerTime)
	} else {
		ep.Annotations[annotationTriggerTime] = d.TriggerTime.UTC().Format(time.RFC3339Nano)
	}
	if d.Truncated {
		ep.Annotations[annotationOverCapacity] = "truncated"
	} else {
		delete(ep.Annotations, annotationOverCapacity)
	}
	ep.Subsets = d.Subsets
	if cur == nil {
		_, err = c.client.CoreV1().Endpoints(ns).Create(ctx, ep, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// Our cache is behind; the Endpoints informer will requeue us.
			return fmt.Errorf("create endpoints %s: %w", key, err)
		}
	} else {
		_, err = c.client.CoreV1().Endpoints(ns).Update(ctx, ep, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("write endpoints %s: %w", key, err)
	}
	c.log.Debug("endpoints written", "service", key, "subsets", len(d.Subsets))
	return nil
}

// endpointsLabels are the service's labels plus the headless marker.
func endpointsLabels(svc *corev1.Service) map[string]string {
	l := maps.Clone(svc.Labels)
	if l == nil {
		l = map[string]string{}
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		l[labelHeadless] = ""
	} else {
		delete(l, labelHeadless)
	}
	return l
}
