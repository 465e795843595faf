package garbagecollector

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/cache"
)

// monitor is the metadata informer of one resource.
type monitor struct {
	resource schema.GroupVersionResource
	informer cache.SharedIndexInformer
}

// deletableResource is a served resource the collector watches.
type deletableResource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
}

// deletableResources lists the preferred version of every served resource
// that can be listed, watched and deleted, subresources and ignored
// resources left out. A partial discovery failure still returns what was
// found, with the error.
func (gc *GarbageCollector) deletableResources() ([]deletableResource, error) {
	lists, err := discovery.ServerPreferredResources(gc.discovery)
	if len(lists) == 0 && err != nil {
		return nil, fmt.Errorf("discover resources: %w", err)
	}
	verbs := sets.New("list", "watch", "delete")
	var out []deletableResource
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !sets.New(r.Verbs...).IsSuperset(verbs) {
				continue
			}
			if gc.ignored[schema.GroupResource{Group: gv.Group, Resource: r.Name}] {
				continue
			}
			out = append(out, deletableResource{gvr: gv.WithResource(r.Name), kind: r.Kind, namespaced: r.Namespaced})
		}
	}
	return out, err
}

// startMonitors discovers the resources (retrying until it works or ctx
// ends) and starts an informer for each.
func (gc *GarbageCollector) startMonitors(ctx context.Context) error {
	var resources []deletableResource
	err := wait.ExponentialBackoffWithContext(ctx, wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Cap: 10 * time.Second, Steps: 1 << 30},
		func(context.Context) (bool, error) {
			var err error
			resources, err = gc.deletableResources()
			if len(resources) == 0 {
				gc.log.Warn("discovery failed, retrying", "err", err)
				return false, nil
			}
			if err != nil {
				gc.log.Warn("discovery incomplete", "err", err)
			}
			return true, nil
		})
	if err != nil {
		return fmt.Errorf("discover resources: %w", err)
	}
	gc.addMonitors(resources)
	gc.factory.Start(ctx.Done())
	return nil
}

// addMonitors adds an informer for each resource not yet watched and
// returns how many it added. The factory's Start starts them.
func (gc *GarbageCollector) addMonitors(resources []deletableResource) int {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	added := 0
	for _, r := range resources {
		if _, ok := gc.monitors[r.gvr]; ok {
			continue
		}
		inf := gc.factory.ForResource(r.gvr).Informer()
		h := handler{gc: gc, res: r}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    h.onUpsert,
			UpdateFunc: func(_, obj any) { h.onUpsert(obj) },
			DeleteFunc: h.onDelete,
		}); err != nil {
			gc.log.Error("watch resource", "resource", r.gvr.String(), "err", err)
			continue
		}
		gc.monitors[r.gvr] = &monitor{resource: r.gvr, informer: inf}
		added++
	}
	return added
}

func (gc *GarbageCollector) monitorCount() int {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	return len(gc.monitors)
}

// waitForSync waits until every informer has listed, ctx ends or
// syncTimeout passes.
func (gc *GarbageCollector) waitForSync(ctx context.Context) {
	gc.mu.Lock()
	var synced []cache.InformerSynced
	for _, m := range gc.monitors {
		synced = append(synced, m.informer.HasSynced)
	}
	gc.mu.Unlock()
	tctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(tctx.Done(), synced...) && ctx.Err() == nil {
		gc.log.Warn("not every resource listed in time; starting anyway")
	}
}

// rediscover looks for new resources every period until ctx ends.
func (gc *GarbageCollector) rediscover(ctx context.Context) {
	t := time.NewTicker(gc.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		resources, err := gc.deletableResources()
		if err != nil {
			gc.log.Debug("rediscovery incomplete", "err", err)
		}
		if gc.addMonitors(resources) > 0 {
			gc.mapper.Reset()
			gc.factory.Start(ctx.Done())
		}
	}
}

// handler turns informer events of one resource into graph changes.
type handler struct {
	gc  *GarbageCollector
	res deletableResource
}

func (h handler) onUpsert(obj any) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	h.gc.enqueue(h.gc.graph.observe(observed{
		id:                h.identity(m),
		owners:            m.OwnerReferences,
		deletionTimestamp: m.DeletionTimestamp != nil,
		finalizers:        m.Finalizers,
	}))
}

func (h handler) onDelete(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	h.gc.enqueue(h.gc.graph.remove(m.UID))
}

func (h handler) identity(m *metav1.PartialObjectMetadata) identity {
	return identity{
		Resource:   h.res.gvr,
		Kind:       h.res.kind,
		Namespace:  m.Namespace,
		Name:       m.Name,
		UID:        m.UID,
		Namespaced: h.res.namespaced,
	}
}
