package proxy

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// listenKey names one socket the proxy holds.
type listenKey struct {
	Proto corev1.Protocol // TCP or UDP
	Addr  netip.AddrPort
}

func (k listenKey) String() string { return string(k.Proto) + "/" + k.Addr.String() }

// targetKey names one balancer of a service: a service port (by name and
// protocol), an address family, and whether it serves external traffic
// (NodePorts, subject to externalTrafficPolicy) or internal traffic
// (ClusterIPs, subject to internalTrafficPolicy).
type targetKey struct {
	Port     string
	Proto    corev1.Protocol
	IPv6     bool
	External bool
}

// target is what one balancer forwards to.
type target struct {
	Endpoints []netip.AddrPort // sorted
	Affinity  time.Duration    // ClientIP affinity timeout; 0: none
}

// plan is everything one service wants from the dataplane.
type plan struct {
	Listeners map[listenKey]targetKey
	Targets   map[targetKey]target
}

// planService computes a service's plan from the service and its
// EndpointSlices (eps). Pure: the same inputs give the same plan.
func planService(svc *corev1.Service, eps []*discovery.EndpointSlice, nodeIPs []netip.Addr, nodeName string) plan {
	p := plan{Listeners: map[listenKey]targetKey{}, Targets: map[targetKey]target{}}
	if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return p
	}
	clusterIPs := svc.Spec.ClusterIPs
	if len(clusterIPs) == 0 && svc.Spec.ClusterIP != "" {
		clusterIPs = []string{svc.Spec.ClusterIP}
	}
	var vips []netip.Addr
	for _, s := range clusterIPs {
		if ip, err := netip.ParseAddr(s); err == nil {
			vips = append(vips, ip.Unmap())
		}
	}
	if len(vips) == 0 {
		return p // headless or not yet allocated
	}
	var affinity time.Duration
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		affinity = defaultAffinityTimeout
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil && *c.ClientIP.TimeoutSeconds > 0 {
			affinity = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
		}
	}
	nodePorts := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	internalLocal := nodeName != "" && svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	externalLocal := nodeName != "" && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal

	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		proto := cmp.Or(sp.Protocol, corev1.ProtocolTCP)
		if proto != corev1.ProtocolTCP && proto != corev1.ProtocolUDP {
			continue // SCTP has no userspace path here
		}
		add := func(addr netip.AddrPort, external, local bool) {
			tk := targetKey{Port: sp.Name, Proto: proto, IPv6: addr.Addr().Is6(), External: external}
			t, ok := p.Targets[tk]
			if !ok {
				t = target{Endpoints: chooseEndpoints(eps, tk, local, nodeName), Affinity: affinity}
				p.Targets[tk] = t
			}
			if slices.Contains(t.Endpoints, addr) {
				// The service is served on its own address (a server bound
				// on the virtual IP): forwarding would loop.
				return
			}
			p.Listeners[listenKey{Proto: proto, Addr: addr}] = tk
		}
		for _, ip := range vips {
			if sp.Port > 0 && sp.Port <= 65535 {
				add(netip.AddrPortFrom(ip, uint16(sp.Port)), false, internalLocal)
			}
		}
		if nodePorts && sp.NodePort > 0 && sp.NodePort <= 65535 {
			for _, ip := range nodeIPs {
				add(netip.AddrPortFrom(ip, uint16(sp.NodePort)), true, externalLocal)
			}
		}
	}
	// Targets without listeners (all served in place) are still kept: they
	// cost nothing and keep plans comparable.
	return p
}

// candidate is one endpoint address of a service port, merged over slices.
type candidate struct {
	addr                        netip.AddrPort
	ready, serving, terminating bool
	local                       bool
}

// chooseEndpoints picks the endpoints of one balancer as kube-proxy does:
// the ready ones; if none, the serving and terminating ones. With local
// set, only endpoints on nodeName count.
func chooseEndpoints(eps []*discovery.EndpointSlice, tk targetKey, local bool, nodeName string) []netip.AddrPort {
	family := discovery.AddressTypeIPv4
	if tk.IPv6 {
		family = discovery.AddressTypeIPv6
	}
	byAddr := map[netip.AddrPort]candidate{}
	for _, s := range eps {
		if s.AddressType != family {
			continue
		}
		port, ok := slicePort(s, tk)
		if !ok {
			continue
		}
		for i := range s.Endpoints {
			e := &s.Endpoints[i]
			if len(e.Addresses) == 0 {
				continue
			}
			ip, err := netip.ParseAddr(e.Addresses[0])
			if err != nil {
				continue
			}
			// nil conditions are read as kube-proxy reads them: ready and
			// serving unless said otherwise, not terminating.
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			c := candidate{
				addr:        netip.AddrPortFrom(ip.Unmap(), port),
				ready:       ready,
				serving:     e.Conditions.Serving == nil || *e.Conditions.Serving,
				terminating: e.Conditions.Terminating != nil && *e.Conditions.Terminating,
				local:       e.NodeName != nil && *e.NodeName == nodeName,
			}
			// The same address may sit in two slices while the controller
			// moves it; the more usable copy wins.
			if old, ok := byAddr[c.addr]; ok && (old.ready || !c.ready && old.serving) {
				continue
			}
			byAddr[c.addr] = c
		}
	}
	var ready, fallback []netip.AddrPort
	for _, c := range byAddr {
		if local && !c.local {
			continue
		}
		switch {
		case c.ready:
			ready = append(ready, c.addr)
		case c.serving && c.terminating:
			fallback = append(fallback, c.addr)
		}
	}
	out := ready
	if len(out) == 0 {
		out = fallback
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out
}

// slicePort is the port of a slice that serves tk: same name and protocol.
func slicePort(s *discovery.EndpointSlice, tk targetKey) (uint16, bool) {
	for _, p := range s.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if name == tk.Port && proto == tk.Proto && p.Port != nil && *p.Port > 0 && *p.Port <= 65535 {
			return uint16(*p.Port), true
		}
	}
	return 0, false
}

// listenerDiff is how to get from the listeners held to the ones wanted.
type listenerDiff struct {
	Open, Close, Keep []listenKey
}

// diffListeners compares held and wanted listeners (each sorted, so that
// logs and tests are stable). A listener kept may serve another target;
// the caller points it at the wanted one.
func diffListeners(have map[listenKey]targetKey, want map[listenKey]targetKey) listenerDiff {
	var d listenerDiff
	for k := range want {
		if _, ok := have[k]; ok {
			d.Keep = append(d.Keep, k)
		} else {
			d.Open = append(d.Open, k)
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			d.Close = append(d.Close, k)
		}
	}
	for _, l := range [][]listenKey{d.Open, d.Close, d.Keep} {
		slices.SortFunc(l, compareListenKey)
	}
	return d
}

func compareListenKey(a, b listenKey) int {
	return cmp.Or(cmp.Compare(a.Proto, b.Proto), a.Addr.Compare(b.Addr))
}
