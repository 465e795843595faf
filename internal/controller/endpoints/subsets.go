package endpoints

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// maxAddresses is the most addresses one Endpoints object holds
// (Kubernetes' maxCapacity); the rest are dropped and the object is
// annotated as truncated.
const maxAddresses = 1000

// Names of labels and annotations this controller writes.
const (
	labelHeadless          = corev1.IsHeadlessService // "service.kubernetes.io/headless"
	annotationTriggerTime  = corev1.EndpointsLastChangeTriggerTime
	annotationOverCapacity = corev1.EndpointsOverCapacity
)

// shouldPodBeInEndpoints reports whether a pod is listed at all: it needs
// an IP, must not be terminal and, unless includeTerminating, must not be
// terminating.
func shouldPodBeInEndpoints(pod *corev1.Pod, includeTerminating bool) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if podIP(pod) == "" {
		return false
	}
	if !includeTerminating && pod.DeletionTimestamp != nil {
		return false
	}
	return true
}

// podIP is the pod's IPv4 address (skiff is IPv4-only for now), or "".
func podIP(pod *corev1.Pod) string {
	if pod.Status.PodIP != "" {
		return pod.Status.PodIP
	}
	if len(pod.Status.PodIPs) > 0 {
		return pod.Status.PodIPs[0].IP
	}
	return ""
}

// isPodReady reports the pod's Ready condition.
func isPodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// findPort resolves a service port's targetPort for one pod: a number is
// used as is (0, an unset targetPort, means the service port); a name is
// looked up in the pod's container ports of the same protocol, restartable
// init containers (sidecars) included.
func findPort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, error) {
	proto := cmp.Or(sp.Protocol, corev1.ProtocolTCP)
	switch sp.TargetPort.Type {
	case intstr.String:
		name := sp.TargetPort.StrVal
		match := func(cs []corev1.Container, sidecarsOnly bool) (int32, bool) {
			for _, c := range cs {
				if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
					continue
				}
				for _, p := range c.Ports {
					if p.Name == name && cmp.Or(p.Protocol, corev1.ProtocolTCP) == proto {
						return p.ContainerPort, true
					}
				}
			}
			return 0, false
		}
		if n, ok := match(pod.Spec.Containers, false); ok {
			return n, nil
		}
		if n, ok := match(pod.Spec.InitContainers, true); ok {
			return n, nil
		}
		return 0, fmt.Errorf("pod %s has no port named %q (%s)", pod.Name, name, proto)
	default:
		if sp.TargetPort.IntVal == 0 {
			return sp.Port, nil
		}
		return sp.TargetPort.IntVal, nil
	}
}

// shouldSetHostname reports whether a pod's hostname is published for a
// service: only when the pod's subdomain is the service's name.
func shouldSetHostname(pod *corev1.Pod, svc *corev1.Service) bool {
	return pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace
}

// desired is what an Endpoints object should hold.
type desired struct {
	Subsets   []corev1.EndpointSubset
	Truncated bool
	// TriggerTime is the latest change among the inputs (zero: none).
	TriggerTime time.Time
}

// computeSubsets is the pure heart of the controller: the subsets for svc
// given every pod its selector matches.
func computeSubsets(svc *corev1.Service, pods []*corev1.Pod) desired {
	var d desired
	d.TriggerTime = svc.CreationTimestamp.Time
	tolerate := svc.Spec.PublishNotReadyAddresses
	var raw []corev1.EndpointSubset
	for _, pod := range pods {
		if !shouldPodBeInEndpoints(pod, tolerate) {
			continue
		}
		d.TriggerTime = later(d.TriggerTime, podChangeTime(pod))
		addr := corev1.EndpointAddress{
			IP: podIP(pod),
			TargetRef: &corev1.ObjectReference{
				Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
			},
		}
		if pod.Spec.NodeName != "" {
			node := pod.Spec.NodeName
			addr.NodeName = &node
		}
		if shouldSetHostname(pod, svc) {
			addr.Hostname = pod.Spec.Hostname
		}
		ready := tolerate || isPodReady(pod)
		add := func(ports []corev1.EndpointPort) {
			s := corev1.EndpointSubset{Ports: ports}
			if ready {
				s.Addresses = []corev1.EndpointAddress{addr}
			} else {
				s.NotReadyAddresses = []corev1.EndpointAddress{addr}
			}
			raw = append(raw, s)
		}
		if len(svc.Spec.Ports) == 0 {
			// Headless services may have no ports: list the address alone.
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				add(nil)
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			n, err := findPort(pod, sp)
			if err != nil {
				continue // this pod does not serve this port
			}
			add([]corev1.EndpointPort{{
				Name: sp.Name, Port: n, Protocol: cmp.Or(sp.Protocol, corev1.ProtocolTCP), AppProtocol: sp.AppProtocol,
			}})
		}
	}
	d.Subsets = repackSubsets(raw)
	d.Subsets, d.Truncated = truncate(d.Subsets, maxAddresses)
	return d
}

// podChangeTime approximates when a pod last changed in a way that matters
// here: its Ready transition, else its creation, or its deletion.
func podChangeTime(pod *corev1.Pod) time.Time {
	t := pod.CreationTimestamp.Time
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			t = later(t, c.LastTransitionTime.Time)
		}
	}
	if pod.DeletionTimestamp != nil {
		t = later(t, pod.DeletionTimestamp.Time)
	}
	return t
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// addrKey identifies an address across subsets (IP and pod).
type addrKey struct {
	ip  string
	uid string
}

func keyOf(a *corev1.EndpointAddress) addrKey {
	k := addrKey{ip: a.IP}
	if a.TargetRef != nil {
		k.uid = string(a.TargetRef.UID)
	}
	return k
}

// repackSubsets regroups subsets as Kubernetes' endpoints.RepackSubsets
// does: each address is listed once per distinct set of ports it offers,
// addresses offering the same port set share a subset, an address ready on
// any port counts as ready, and subsets, addresses and ports are sorted.
func repackSubsets(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	// The sentinel stands for "no ports" so that port-less addresses are
	// kept.
	sentinel := corev1.EndpointPort{Port: -1}
	addrs := map[addrKey]*corev1.EndpointAddress{}
	ready := map[addrKey]bool{}
	portsOf := map[addrKey]map[corev1.EndpointPort]bool{}
	note := func(a *corev1.EndpointAddress, isReady bool, ports []corev1.EndpointPort) {
		k := keyOf(a)
		if _, ok := addrs[k]; !ok {
			addrs[k] = a
			portsOf[k] = map[corev1.EndpointPort]bool{}
		}
		ready[k] = ready[k] || isReady
		if len(ports) == 0 {
			portsOf[k][sentinel] = true
		}
		for _, p := range ports {
			portsOf[k][p] = true
		}
	}
	for i := range subsets {
		s := &subsets[i]
		for j := range s.Addresses {
			note(&s.Addresses[j], true, s.Ports)
		}
		for j := range s.NotReadyAddresses {
			note(&s.NotReadyAddresses[j], false, s.Ports)
		}
	}
	// Group addresses by their sorted port set.
	type group struct {
		ports []corev1.EndpointPort
		keys  []addrKey
	}
	groups := map[string]*group{}
	for k, ps := range portsOf {
		var list []corev1.EndpointPort
		for p := range ps {
			if p != sentinel {
				list = append(list, p)
			}
		}
		slices.SortFunc(list, comparePorts)
		id := portsID(list)
		g := groups[id]
		if g == nil {
			g = &group{ports: list}
			groups[id] = g
		}
		g.keys = append(g.keys, k)
	}
	out := make([]corev1.EndpointSubset, 0, len(groups))
	for _, g := range groups {
		s := corev1.EndpointSubset{Ports: g.ports}
		for _, k := range g.keys {
			if ready[k] {
				s.Addresses = append(s.Addresses, *addrs[k])
			} else {
				s.NotReadyAddresses = append(s.NotReadyAddresses, *addrs[k])
			}
		}
		slices.SortFunc(s.Addresses, compareAddresses)
		slices.SortFunc(s.NotReadyAddresses, compareAddresses)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b corev1.EndpointSubset) int {
		return strings.Compare(portsID(a.Ports), portsID(b.Ports))
	})
	return out
}

func comparePorts(a, b corev1.EndpointPort) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Port, b.Port), strings.Compare(string(a.Protocol), string(b.Protocol)))
}

func portsID(ps []corev1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s/%d/%s;", p.Name, p.Port, p.Protocol)
	}
	return b.String()
}

// compareAddresses orders addresses by IP, then pod UID (as
// endpoints.LessEndpointAddress does).
func compareAddresses(a, b corev1.EndpointAddress) int {
	ka, kb := keyOf(&a), keyOf(&b)
	return cmp.Or(strings.Compare(ka.ip, kb.ip), strings.Compare(ka.uid, kb.uid))
}

// truncate keeps at most limit addresses, ready ones first and spread
// over the subsets in proportion to their size, as Kubernetes does.
func truncate(subsets []corev1.EndpointSubset, limit int) ([]corev1.EndpointSubset, bool) {
	total := 0
	for _, s := range subsets {
		total += len(s.Addresses) + len(s.NotReadyAddresses)
	}
	if total <= limit {
		return subsets, false
	}
	for i := range subsets {
		s := &subsets[i]
		n := len(s.Addresses) + len(s.NotReadyAddresses)
		keep := n * limit / total
		if len(s.Addresses) >= keep {
			s.Addresses = s.Addresses[:keep]
			s.NotReadyAddresses = nil
		} else {
			s.NotReadyAddresses = s.NotReadyAddresses[:keep-len(s.Addresses)]
		}
	}
	return subsets, true
}
