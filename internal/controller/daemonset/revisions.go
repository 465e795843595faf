package daemonset

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/internal/controller/history"
	"github.com/skiff-dev/skiff/internal/controller/ownerref"
)

// constructHistory finds ds's revisions, splits them into the one
// matching the current template (created when missing, renumbered to
// the newest revision when it is an older one, as after a rollback) and
// the old ones, as Kubernetes' constructHistory.
func (c *Controller) constructHistory(ctx context.Context, ds *appsv1.DaemonSet) (cur *appsv1.ControllerRevision, old []*appsv1.ControllerRevision, err error) {
	revs, err := c.controlledHistories(ctx, ds)
	if err != nil {
		return nil, nil, err
	}
	patch, err := history.TemplatePatch(ds)
	if err != nil {
		return nil, nil, err
	}
	var current []*appsv1.ControllerRevision
	for _, r := range revs {
		// Older revisions may lack the hash label: their name is unique
		// enough (as upstream).
		if _, ok := r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; !ok {
			u := r.DeepCopy()
			if u.Labels == nil {
				u.Labels = map[string]string{}
			}
			u.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = u.Name
			if r, err = c.client.AppsV1().ControllerRevisions(ds.Namespace).Update(ctx, u, metav1.UpdateOptions{}); err != nil {
				return nil, nil, fmt.Errorf("label controllerrevision %s/%s: %w", u.Namespace, u.Name, err)
			}
		}
		if bytes.Equal(r.Data.Raw, patch) {
			current = append(current, r)
		} else {
			old = append(old, r)
		}
	}
	next := history.MaxRevision(old) + 1
	if len(current) == 0 {
		cur, err = c.snapshot(ctx, ds, patch, next)
		return cur, old, err
	}
	if cur, err = c.dedupCurrent(ctx, ds, current); err != nil {
		return nil, nil, err
	}
	if cur.Revision < next {
		if cur, err = c.history.UpdateRevision(ctx, cur, next); err != nil {
			return nil, nil, err
		}
	}
	return cur, old, nil
}

// controlledHistories returns the revisions ds controls, adopting
// matching orphans and releasing those that stopped matching.
func (c *Controller) controlledHistories(ctx context.Context, ds *appsv1.DaemonSet) ([]*appsv1.ControllerRevision, error) {
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of daemonset %s: %w", dsKey(ds), err)
	}
	all, err := c.history.Lister.ControllerRevisions(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list controllerrevisions: %w", err)
	}
	cl := ownerref.NewClaimer(ds, controllerKind, sel, "ControllerRevision", c.getFresh(ds), c.history.Patch)
	return ownerref.Claim(ctx, cl, all)
}

// snapshot records the current template as revision number rev, named
// "<ds>-<template hash>". A name taken by a different template bumps
// status.collisionCount and fails, so that the next sync uses a new name.
func (c *Controller) snapshot(ctx context.Context, ds *appsv1.DaemonSet, patch []byte, rev int64) (*appsv1.ControllerRevision, error) {
	hash := history.TemplateHash(&ds.Spec.Template, ds.Status.CollisionCount)
	lbls := maps.Clone(ds.Spec.Template.Labels)
	if lbls == nil {
		lbls = map[string]string{}
	}
	lbls[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            history.Name(ds.Name, hash),
			Namespace:       ds.Namespace,
			Labels:          lbls,
			Annotations:     maps.Clone(ds.Annotations),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
		},
		Data:     runtime.RawExtension{Raw: patch},
		Revision: rev,
	}
	api := c.client.AppsV1().ControllerRevisions(ds.Namespace)
	created, err := api.Create(ctx, cr, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return nil, fmt.Errorf("create controllerrevision %s/%s: %w", cr.Namespace, cr.Name, err)
		}
		return created, nil
	}
	exists, gerr := api.Get(ctx, cr.Name, metav1.GetOptions{})
	if gerr != nil {
		return nil, fmt.Errorf("get controllerrevision %s/%s: %w", cr.Namespace, cr.Name, gerr)
	}
	if bytes.Equal(exists.Data.Raw, patch) {
		return exists, nil
	}
	// A hash collision. Bump the count only if ours was current.
	fresh, gerr := c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	if gerr != nil {
		return nil, fmt.Errorf("get daemonset %s: %w", dsKey(ds), gerr)
	}
	if !equalPtr(fresh.Status.CollisionCount, ds.Status.CollisionCount) {
		return nil, fmt.Errorf("stale collision count of daemonset %s, retrying", dsKey(ds))
	}
	n := int32(0)
	if fresh.Status.CollisionCount != nil {
		n = *fresh.Status.CollisionCount
	}
	n++
	fresh.Status.CollisionCount = &n
	if _, uerr := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{}); uerr != nil {
		return nil, fmt.Errorf("bump collision count of daemonset %s: %w", dsKey(ds), uerr)
	}
	c.log.Info("hash collision, collisionCount bumped", "daemonset", dsKey(ds), "collisionCount", n)
	return nil, fmt.Errorf("create controllerrevision %s/%s: %w", cr.Namespace, cr.Name, err)
}

func equalPtr(a, b *int32) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// dedupCurrent keeps the newest of several revisions of the current
// template, relabels pods of the others to it and deletes the others.
func (c *Controller) dedupCurrent(ctx context.Context, ds *appsv1.DaemonSet, current []*appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	if len(current) == 1 {
		return current[0], nil
	}
	keep := current[0]
	for _, r := range current {
		if r.Revision >= keep.Revision {
			keep = r
		}
	}
	pods, err := c.daemonPods(ctx, ds)
	if err != nil {
		return nil, err
	}
	want := keep.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	for _, p := range pods {
		if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == want {
			continue
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: want}}})
		if _, err := c.client.CoreV1().Pods(ds.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("relabel pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	for _, r := range current {
		if r.Name != keep.Name {
			if err := c.history.Delete(ctx, r); err != nil {
				return nil, err
			}
		}
	}
	return keep, nil
}

// cleanupHistory deletes the oldest old revisions beyond
// revisionHistoryLimit, sparing those some pod still runs.
func (c *Controller) cleanupHistory(ctx context.Context, ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision) error {
	limit := 10
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*ds.Spec.RevisionHistoryLimit)
	}
	toKill := len(old) - limit
	if toKill <= 0 {
		return nil
	}
	byNode, err := c.nodesToDaemonPods(ctx, ds, true)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, pods := range byNode {
		for _, p := range pods {
			if h := p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; h != "" {
				live[h] = true
			}
		}
	}
	old = slices.Clone(old)
	slices.SortStableFunc(old, func(a, b *appsv1.ControllerRevision) int { return cmp.Compare(a.Revision, b.Revision) })
	for _, r := range old {
		if toKill <= 0 {
			break
		}
		if live[r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] {
			continue
		}
		if err := c.history.Delete(ctx, r); err != nil {
			return err
		}
		toKill--
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
