package endpointslice

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Label values and limits shared with upstream.
const (
	managedByController = "endpointslice-controller.k8s.io"
	managedByMirroring  = "endpointslicemirroring-controller.k8s.io"
	labelSkipMirror     = "endpointslice.kubernetes.io/skip-mirror"
	// maxEndpointsPerSlice is kube-controller-manager's default
	// --max-endpoints-per-slice.
	maxEndpointsPerSlice = 100
	// maxMirroredPerSubset caps the addresses mirrored from one Endpoints
	// subset, as upstream does.
	maxMirroredPerSubset = 1000
)

// group is a set of endpoints that share one port list (and so may share
// slices).
type group struct {
	Ports     []discovery.EndpointPort
	Endpoints []discovery.Endpoint
}

// groups maps a port-set key (portsKey) to its group.
type groups map[string]*group

func (g groups) add(ports []discovery.EndpointPort, ep discovery.Endpoint) {
	k := portsKey(ports)
	gr := g[k]
	if gr == nil {
		gr = &group{Ports: ports}
		g[k] = gr
	}
	gr.Endpoints = append(gr.Endpoints, ep)
}

func (g groups) size() int {
	n := 0
	for _, gr := range g {
		n += len(gr.Endpoints)
	}
	return n
}

// portsKey identifies a port list regardless of its order.
func portsKey(ports []discovery.EndpointPort) string {
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		parts = append(parts, fmt.Sprintf("%s/%d/%s/%s", deref(p.Name), deref(p.Port), deref(p.Protocol), deref(p.AppProtocol)))
	}
	slices.Sort(parts)
	return strings.Join(parts, ";")
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// endpointKey identifies one endpoint across syncs: its address and pod.
func endpointKey(ep *discovery.Endpoint) string {
	k := strings.Join(ep.Addresses, ",")
	if ep.TargetRef != nil {
		k += "/" + string(ep.TargetRef.UID)
	}
	return k
}

// isIPv4 reports whether s is an IPv4 address (the one address type
// served).
func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// desiredFromPods is the wanted content for a service with a selector,
// given the pods its selector matches.
func desiredFromPods(svc *corev1.Service, pods []*corev1.Pod) groups {
	out := groups{}
	for _, pod := range pods {
		if !shouldPodBeInSlices(pod) {
			continue
		}
		ip := podIPv4(pod)
		if ip == "" {
			continue
		}
		podReady := isPodReady(pod)
		terminating := pod.DeletionTimestamp != nil
		ready := svc.Spec.PublishNotReadyAddresses || podReady
		if terminating && !svc.Spec.PublishNotReadyAddresses {
			// Compatibility with Endpoints: never ready while terminating.
			ready = false
		}
		ep := discovery.Endpoint{
			Addresses: []string{ip},
			Conditions: discovery.EndpointConditions{
				Ready: ptr(ready), Serving: ptr(podReady), Terminating: ptr(terminating),
			},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if pod.Spec.NodeName != "" {
			ep.NodeName = ptr(pod.Spec.NodeName)
		}
		if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
			ep.Hostname = ptr(pod.Spec.Hostname)
		}
		var ports []discovery.EndpointPort
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			n, err := findPort(pod, sp)
			if err != nil {
				continue
			}
			ports = append(ports, discovery.EndpointPort{
				Name: ptr(sp.Name), Port: ptr(n), Protocol: ptr(cmp.Or(sp.Protocol, corev1.ProtocolTCP)), AppProtocol: sp.AppProtocol,
			})
		}
		out.add(ports, ep)
	}
	return out
}

// desiredFromEndpoints is the wanted content mirrored from a hand-made
// Endpoints object.
func desiredFromEndpoints(ep *corev1.Endpoints) groups {
	out := groups{}
	for _, s := range ep.Subsets {
		ports := make([]discovery.EndpointPort, 0, len(s.Ports))
		for _, p := range s.Ports {
			ports = append(ports, discovery.EndpointPort{
				Name: ptr(p.Name), Port: ptr(p.Port), Protocol: ptr(cmp.Or(p.Protocol, corev1.ProtocolTCP)), AppProtocol: p.AppProtocol,
			})
		}
		n := 0
		mirror := func(a corev1.EndpointAddress, ready bool) {
			if n >= maxMirroredPerSubset || !isIPv4(a.IP) {
				return
			}
			n++
			e := discovery.Endpoint{
				Addresses:  []string{a.IP},
				Conditions: discovery.EndpointConditions{Ready: ptr(ready), Serving: ptr(ready), Terminating: ptr(false)},
				NodeName:   a.NodeName,
			}
			if a.Hostname != "" {
				e.Hostname = ptr(a.Hostname)
			}
			if a.TargetRef != nil {
				e.TargetRef = a.TargetRef.DeepCopy()
			}
			out.add(ports, e)
		}
		for _, a := range s.Addresses {
			mirror(a, true)
		}
		for _, a := range s.NotReadyAddresses {
			mirror(a, false)
		}
	}
	return out
}

// shouldPodBeInSlices: terminating pods stay (with terminating=true);
// terminal pods and pods without an IP do not.
func shouldPodBeInSlices(pod *corev1.Pod) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	return pod.Status.PodIP != "" || len(pod.Status.PodIPs) > 0
}

// podIPv4 is the pod's IPv4 address or "".
func podIPv4(pod *corev1.Pod) string {
	if isIPv4(pod.Status.PodIP) {
		return pod.Status.PodIP
	}
	for _, ip := range pod.Status.PodIPs {
		if isIPv4(ip.IP) {
			return ip.IP
		}
	}
	return ""
}

func isPodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// findPort resolves a service port's targetPort for one pod (see package
// endpoints: same rules).
func findPort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, error) {
	proto := cmp.Or(sp.Protocol, corev1.ProtocolTCP)
	if sp.TargetPort.Type != intstr.String {
		if sp.TargetPort.IntVal == 0 {
			return sp.Port, nil
		}
		return sp.TargetPort.IntVal, nil
	}
	name := sp.TargetPort.StrVal
	// Regular containers first, then restartable init containers
	// (sidecars), which serve for the pod's whole life.
	candidates := slices.Clone(pod.Spec.Containers)
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			candidates = append(candidates, c)
		}
	}
	for _, c := range candidates {
		for _, p := range c.Ports {
			if p.Name == name && cmp.Or(p.Protocol, corev1.ProtocolTCP) == proto {
				return p.ContainerPort, nil
			}
		}
	}
	return 0, fmt.Errorf("pod %s has no port named %q (%s)", pod.Name, name, proto)
}
