package scheduler

import (
	"slices"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// cache is the scheduler's view of nodes and of the pods on them: pods
// the informer shows bound, and pods the scheduler assumed on a node
// while their binding is in flight (so that the next decision already
// counts them). NodeInfos are copy-on-write: a snapshot stays valid
// however the cache changes afterwards.
type cache struct {
	mu sync.Mutex
	// nodes by name; a NodeInfo with a nil Node holds pods bound to a node
	// the informer does not show (yet, or any more).
	nodes map[string]*NodeInfo
	// names lists, sorted, the nodes whose Node object is known: the
	// snapshot order, which makes decisions reproducible.
	names []string
	pods  map[types.UID]cachedPod
}

type cachedPod struct {
	node    string
	assumed bool
}

func newCache() *cache {
	return &cache{nodes: map[string]*NodeInfo{}, pods: map[types.UID]cachedPod{}}
}

// snapshot returns the known nodes, sorted by name. The caller must not
// modify them.
func (c *cache) snapshot() []*NodeInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*NodeInfo, len(c.names))
	for i, name := range c.names {
		out[i] = c.nodes[name]
	}
	return out
}

// change replaces the NodeInfo of name by a changed clone. Locked.
func (c *cache) change(name string, fn func(*NodeInfo)) {
	var ni *NodeInfo
	if old := c.nodes[name]; old != nil {
		ni = old.clone()
	} else {
		ni = &NodeInfo{}
	}
	fn(ni)
	if ni.Node == nil && len(ni.Pods) == 0 {
		delete(c.nodes, name)
		return
	}
	c.nodes[name] = ni
}

func (c *cache) setNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.change(node.Name, func(ni *NodeInfo) { ni.setNode(node) })
	if i, found := slices.BinarySearch(c.names, node.Name); !found {
		c.names = slices.Insert(c.names, i, node.Name)
	}
}

func (c *cache) removeNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.change(name, func(ni *NodeInfo) { ni.setNode(nil) })
	if i, found := slices.BinarySearch(c.names, name); found {
		c.names = slices.Delete(c.names, i, i+1)
	}
}

// assume counts pod on node before its binding is observed.
func (c *cache) assume(p *PodInfo, node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(p.Pod.UID)
	c.pods[p.Pod.UID] = cachedPod{node: node, assumed: true}
	c.change(node, func(ni *NodeInfo) { ni.addPod(p) })
}

// forget drops an assumed pod whose binding failed. A pod the informer
// already showed bound stays.
func (c *cache) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[uid]; ok && cp.assumed {
		c.removeLocked(uid)
	}
}

func (c *cache) isAssumed(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pods[uid].assumed
}

// setPod records a bound pod as the informer shows it, replacing what
// was assumed for it.
func (c *cache) setPod(pod *v1.Pod) {
	p := NewPodInfo(pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(pod.UID)
	c.pods[pod.UID] = cachedPod{node: pod.Spec.NodeName}
	c.change(pod.Spec.NodeName, func(ni *NodeInfo) { ni.addPod(p) })
}

// removePod drops a pod; it reports whether the pod was counted.
func (c *cache) removePod(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pods[uid]
	c.removeLocked(uid)
	return ok
}

func (c *cache) removeLocked(uid types.UID) {
	cp, ok := c.pods[uid]
	if !ok {
		return
	}
	delete(c.pods, uid)
	c.change(cp.node, func(ni *NodeInfo) { ni.removePod(uid) })
}
