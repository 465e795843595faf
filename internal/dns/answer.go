package dns

import (
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
)

// Service is the slim view of a Service that answers need.
type Service struct {
	Namespace, Name string
	ClusterIP       string // "" or "None" for headless
	ExternalName    string // set for type ExternalName
	Ports           []Port
}

func (s *Service) headless() bool { return s.ClusterIP == "" || s.ClusterIP == "None" }

// Port is a named port of a service or endpoint.
type Port struct {
	Name     string
	Protocol string // "TCP", "UDP", "SCTP"
	Port     int32
}

// Endpoint is one address behind a service (from EndpointSlices).
type Endpoint struct {
	IP       string
	Hostname string
	Ready    bool
	Ports    []Port
}

// host is the endpoint's name under its service: its hostname, else its
// dashed IP (the "unique, system-assigned identifier" of the spec).
func (e *Endpoint) host() string {
	if e.Hostname != "" {
		return strings.ToLower(e.Hostname)
	}
	return strings.ReplaceAll(e.IP, ".", "-")
}

// View is a read-only view of the cluster. Implementations must be safe
// for concurrent use; names are compared in lowercase.
type View interface {
	// Service returns the service ns/name, or nil.
	Service(ns, name string) *Service
	// Endpoints lists the endpoints of service ns/name (ready or not,
	// possibly with duplicates across slices).
	Endpoints(ns, name string) []Endpoint
	// NamespaceKnown reports whether the namespace has a service or pod.
	NamespaceKnown(ns string) bool
	// PodIP reports whether a pod in ns has that IP.
	PodIP(ns, ip string) bool
	// ServicesByIP lists the services with that ClusterIP.
	ServicesByIP(ip string) []*Service
	// EndpointsByIP lists the services (and their endpoint) that have an
	// endpoint with that IP.
	EndpointsByIP(ip string) []ServiceEndpoint
}

// ServiceEndpoint is an endpoint with the service it belongs to.
type ServiceEndpoint struct {
	Service  *Service
	Endpoint Endpoint
}

// answerZone answers a question whose name is inside the zone. qname is
// the asked name as sent (answers echo it); the lookup is on its lowercase
// form.
func answerZone(z zoneInfo, v View, req *mdns.Msg) *mdns.Msg {
	q := req.Question[0]
	m := new(mdns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	name := strings.ToLower(mdns.Fqdn(q.Name))
	rel := strings.TrimSuffix(strings.TrimSuffix(name, z.Zone), ".")
	var labels []string
	if rel != "" {
		labels = strings.Split(rel, ".")
	}
	r := resolver{z: z, v: v, q: q, m: m}
	exists := r.resolve(labels)
	if len(m.Answer) == 0 {
		if !exists {
			m.Rcode = mdns.RcodeNameError
		}
		m.Ns = []mdns.RR{soa(z)}
	}
	return m
}

// resolver fills one reply.
type resolver struct {
	z zoneInfo
	v View
	q mdns.Question
	m *mdns.Msg
}

func (r *resolver) hdr(name string, t uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: r.z.TTL}
}

// addA answers an A question with ip (IPv4 only: AAAA gets nothing).
func (r *resolver) addA(name, ip string) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return
	}
	rr := &mdns.A{Hdr: r.hdr(name, mdns.TypeA), A: a.AsSlice()}
	r.m.Answer = append(r.m.Answer, rr)
}

func (r *resolver) wants(t uint16) bool { return r.q.Qtype == t || r.q.Qtype == mdns.TypeANY }

// resolve adds the records for the name given by labels (left to right,
// zone removed) and reports whether the name exists.
func (r *resolver) resolve(labels []string) bool {
	n := len(labels)
	switch {
	case n == 0:
		if r.wants(mdns.TypeSOA) {
			r.m.Answer = append(r.m.Answer, soa(r.z))
		}
		if r.wants(mdns.TypeNS) {
			r.m.Answer = append(r.m.Answer, &mdns.NS{Hdr: r.hdr(r.q.Name, mdns.TypeNS), Ns: "ns.dns." + r.z.Zone})
		}
		return true
	case n == 1 && labels[0] == "dns-version":
		if r.wants(mdns.TypeTXT) {
			r.m.Answer = append(r.m.Answer, &mdns.TXT{Hdr: r.hdr(r.q.Name, mdns.TypeTXT), Txt: []string{"1.1.0"}})
		}
		return true
	case labels[n-1] == "svc":
		return r.resolveService(labels[:n-1])
	case labels[n-1] == "pod":
		return r.resolvePod(labels[:n-1])
	}
	return false
}

// resolveService handles names under svc.<zone>; labels end with the
// namespace.
func (r *resolver) resolveService(labels []string) bool {
	n := len(labels)
	if n == 0 {
		return true // svc.<zone>: an empty non-terminal
	}
	ns := labels[n-1]
	if n == 1 {
		return r.v.NamespaceKnown(ns)
	}
	svc := r.v.Service(ns, labels[n-2])
	if svc == nil {
		return false
	}
	fqdn := svc.Name + "." + svc.Namespace + ".svc." + r.z.Zone
	rest := labels[:n-2]
	if svc.ExternalName != "" {
		if len(rest) > 0 {
			return false
		}
		r.m.Answer = append(r.m.Answer, &mdns.CNAME{Hdr: r.hdr(r.q.Name, mdns.TypeCNAME), Target: mdns.Fqdn(svc.ExternalName)})
		return true
	}
	switch len(rest) {
	case 0:
		r.serviceRecords(svc, fqdn)
		return true
	case 1:
		if strings.HasPrefix(rest[0], "_") {
			// _<proto>.<svc>: exists if some port has that protocol.
			return r.portsMatching(svc, "", rest[0][1:]) != nil
		}
		return r.endpointRecords(svc, fqdn, rest[0])
	case 2:
		if !strings.HasPrefix(rest[0], "_") || !strings.HasPrefix(rest[1], "_") {
			return false
		}
		return r.srvRecords(svc, fqdn, rest[0][1:], rest[1][1:])
	}
	return false
}

// readyEndpoints lists the ready endpoints of svc, one per IP, sorted.
func (r *resolver) readyEndpoints(svc *Service) []Endpoint {
	all := r.v.Endpoints(svc.Namespace, svc.Name)
	out := make([]Endpoint, 0, len(all))
	for _, e := range all {
		if e.Ready {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(a.IP, b.IP) })
	return slices.CompactFunc(out, func(a, b Endpoint) bool { return a.IP == b.IP })
}

// serviceRecords answers <svc>.<ns>.svc.<zone>.
func (r *resolver) serviceRecords(svc *Service, fqdn string) {
	if r.wants(mdns.TypeA) {
		if svc.headless() {
			for _, e := range r.readyEndpoints(svc) {
				r.addA(r.q.Name, e.IP)
			}
		} else {
			r.addA(r.q.Name, svc.ClusterIP)
		}
	}
	if r.wants(mdns.TypeSRV) {
		r.addSRV(svc, fqdn, svc.Ports)
	}
}

// endpointRecords answers <host>.<svc>.<ns>.svc.<zone>.
func (r *resolver) endpointRecords(svc *Service, fqdn, host string) bool {
	found := false
	for _, e := range r.readyEndpoints(svc) {
		if e.host() != host {
			continue
		}
		found = true
		if r.wants(mdns.TypeA) {
			r.addA(r.q.Name, e.IP)
		}
	}
	return found
}

// portsMatching lists the named ports of svc with that name ("" any) and
// protocol (lowercase); nil when none.
func (r *resolver) portsMatching(svc *Service, name, proto string) []Port {
	var out []Port
	for _, p := range svc.Ports {
		if p.Name == "" || !strings.EqualFold(p.Protocol, proto) {
			continue
		}
		if name == "" || strings.EqualFold(p.Name, name) {
			out = append(out, p)
		}
	}
	return out
}

// srvRecords answers _<port>._<proto>.<svc>.<ns>.svc.<zone>.
func (r *resolver) srvRecords(svc *Service, fqdn, port, proto string) bool {
	ports := r.portsMatching(svc, port, proto)
	if ports == nil {
		return false
	}
	if r.wants(mdns.TypeSRV) {
		r.addSRV(svc, fqdn, ports)
	}
	return true
}

// addSRV adds SRV records for the named ports given: one pointing at the
// service for a ClusterIP service, one per ready endpoint (with its own
// port number) for a headless one; targets' A records go to the
// additional section.
func (r *resolver) addSRV(svc *Service, fqdn string, ports []Port) {
	srv := func(target string, port int32, weight uint16) {
		r.m.Answer = append(r.m.Answer, &mdns.SRV{Hdr: r.hdr(r.q.Name, mdns.TypeSRV), Priority: 0, Weight: weight, Port: uint16(port), Target: target})
	}
	extra := func(target, ip string) {
		a, err := netip.ParseAddr(ip)
		if err == nil && a.Is4() {
			r.m.Extra = append(r.m.Extra, &mdns.A{Hdr: r.hdr(target, mdns.TypeA), A: a.AsSlice()})
		}
	}
	if !svc.headless() {
		for _, p := range ports {
			if p.Name != "" {
				srv(fqdn, p.Port, 100)
			}
		}
		if len(r.m.Answer) > 0 {
			extra(fqdn, svc.ClusterIP)
		}
		return
	}
	eps := r.readyEndpoints(svc)
	for _, e := range eps {
		target := e.host() + "." + fqdn
		added := false
		for _, sp := range ports {
			if sp.Name == "" {
				continue
			}
			for _, ep := range e.Ports {
				if ep.Name == sp.Name && strings.EqualFold(ep.Protocol, sp.Protocol) {
					srv(target, ep.Port, uint16(100/max(len(eps), 1)))
					added = true
				}
			}
		}
		if added {
			extra(target, e.IP)
		}
	}
}

// resolvePod handles <a-b-c-d>.<ns>.pod.<zone>.
func (r *resolver) resolvePod(labels []string) bool {
	switch len(labels) {
	case 0:
		return true
	case 1:
		return r.v.NamespaceKnown(labels[0])
	case 2:
		ip := strings.ReplaceAll(labels[0], "-", ".")
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() || !r.v.PodIP(labels[1], ip) {
			return false
		}
		if r.wants(mdns.TypeA) {
			r.addA(r.q.Name, ip)
		}
		return true
	}
	return false
}

// soa is the zone's SOA; its minimum (and TTL) is the negative TTL.
func soa(z zoneInfo) *mdns.SOA {
	return &mdns.SOA{
		Hdr:     mdns.RR_Header{Name: z.Zone, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: z.NegTTL},
		Ns:      "ns.dns." + z.Zone,
		Mbox:    "hostmaster." + z.Zone,
		Serial:  z.Serial,
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  z.NegTTL,
	}
}
