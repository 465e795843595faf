package scheduler

import (
	v1 "k8s.io/api/core/v1"
)

// Resources is an amount of node resources: what a pod requests, what
// the pods on a node request together, or what a node offers.
type Resources struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// Pods is the number of pods a node accepts (allocatable "pods");
	// unused in requests, where every pod counts as one.
	Pods int64
	// Scalar holds extended resources and hugepages, by name.
	Scalar map[v1.ResourceName]int64
}

// Defaults kube-scheduler assumes for a container without requests when
// it scores (never when it filters), so that many request-less pods do
// not all look free and pile on one node.
const (
	defaultMilliCPURequest = 100               // 0.1 core
	defaultMemoryRequest   = 200 * 1024 * 1024 // 200 MiB
)

// resourcesFromList converts a ResourceList.
func resourcesFromList(rl v1.ResourceList) Resources {
	var r Resources
	r.addList(rl)
	return r
}

func (r *Resources) addList(rl v1.ResourceList) {
	for name, q := range rl {
		switch name {
		case v1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case v1.ResourceMemory:
			r.Memory += q.Value()
		case v1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case v1.ResourcePods:
			r.Pods += q.Value()
		default:
			if r.Scalar == nil {
				r.Scalar = map[v1.ResourceName]int64{}
			}
			r.Scalar[name] += q.Value()
		}
	}
}

// Add adds o to r.
func (r *Resources) Add(o Resources) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.Pods += o.Pods
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[v1.ResourceName]int64{}
		}
		r.Scalar[k] += v
	}
}

// Sub subtracts o from r.
func (r *Resources) Sub(o Resources) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.Pods -= o.Pods
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[v1.ResourceName]int64{}
		}
		r.Scalar[k] -= v
	}
}

// max sets every amount of r to the larger of r and o.
func (r *Resources) max(o Resources) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	r.Pods = max(r.Pods, o.Pods)
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[v1.ResourceName]int64{}
		}
		r.Scalar[k] = max(r.Scalar[k], v)
	}
}

// Clone returns a copy that shares nothing with r.
func (r Resources) Clone() Resources {
	c := r
	if r.Scalar != nil {
		c.Scalar = make(map[v1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			c.Scalar[k] = v
		}
	}
	return c
}

// isZero reports whether nothing at all is requested.
func (r Resources) isZero() bool {
	if r.MilliCPU != 0 || r.Memory != 0 || r.EphemeralStorage != 0 {
		return false
	}
	for _, v := range r.Scalar {
		if v != 0 {
			return false
		}
	}
	return true
}

// PodRequests computes what a pod needs on a node, as the kubelet admits
// it and kube-scheduler counts it: the sum of its containers' requests,
// plus restartable (sidecar) init containers which keep running, or the
// largest plain init container with the sidecars started before it if
// that is more; then pod-level requests replace cpu and memory when set,
// and the pod overhead is added.
func PodRequests(pod *v1.Pod) Resources {
	var reqs Resources
	for i := range pod.Spec.Containers {
		reqs.addList(pod.Spec.Containers[i].Resources.Requests)
	}
	var sidecars, initMax Resources
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := resourcesFromList(c.Resources.Requests)
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			reqs.Add(r)
			sidecars.Add(r)
			continue
		}
		r.Add(sidecars)
		initMax.max(r)
	}
	reqs.max(initMax)
	if pod.Spec.Resources != nil {
		pl := pod.Spec.Resources.Requests
		if q, ok := pl[v1.ResourceCPU]; ok {
			reqs.MilliCPU = q.MilliValue()
		}
		if q, ok := pl[v1.ResourceMemory]; ok {
			reqs.Memory = q.Value()
		}
	}
	if pod.Spec.Overhead != nil {
		reqs.addList(pod.Spec.Overhead)
	}
	reqs.Pods = 0
	return reqs
}

// nonZeroRequests is PodRequests for scoring: cpu and memory left unset
// count as kube-scheduler's defaults.
func nonZeroRequests(pod *v1.Pod, reqs Resources) Resources {
	r := Resources{MilliCPU: reqs.MilliCPU, Memory: reqs.Memory}
	if !requestsSet(pod, v1.ResourceCPU) {
		r.MilliCPU = max(r.MilliCPU, defaultMilliCPURequest)
	}
	if !requestsSet(pod, v1.ResourceMemory) {
		r.Memory = max(r.Memory, defaultMemoryRequest)
	}
	return r
}

// requestsSet reports whether any container (or the pod level) requests
// the resource explicitly.
func requestsSet(pod *v1.Pod, name v1.ResourceName) bool {
	if pod.Spec.Resources != nil {
		if _, ok := pod.Spec.Resources.Requests[name]; ok {
			return true
		}
	}
	for i := range pod.Spec.Containers {
		if _, ok := pod.Spec.Containers[i].Resources.Requests[name]; ok {
			return true
		}
	}
	return false
}
