package dns

import (
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
)

// reverseIP parses an in-addr.arpa name into an IPv4 address.
func reverseIP(name string) (string, bool) {
	rel, ok := strings.CutSuffix(strings.ToLower(mdns.Fqdn(name)), ".in-addr.arpa.")
	if !ok {
		return "", false
	}
	parts := strings.Split(rel, ".")
	if len(parts) != 4 {
		return "", false
	}
	slices.Reverse(parts)
	ip := strings.Join(parts, ".")
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return "", false
	}
	return ip, true
}

// answerReverse answers a PTR question for a ClusterIP or endpoint IP; ok
// is false when the IP is not the cluster's (the query is then forwarded).
func answerReverse(z zoneInfo, v View, req *mdns.Msg) (m *mdns.Msg, ok bool) {
	q := req.Question[0]
	ip, isIP := reverseIP(q.Name)
	if !isIP {
		return nil, false
	}
	var targets []string
	for _, s := range v.ServicesByIP(ip) {
		targets = append(targets, s.Name+"."+s.Namespace+".svc."+z.Zone)
	}
	for _, se := range v.EndpointsByIP(ip) {
		targets = append(targets, se.Endpoint.host()+"."+se.Service.Name+"."+se.Service.Namespace+".svc."+z.Zone)
	}
	if len(targets) == 0 {
		return nil, false
	}
	slices.Sort(targets)
	targets = slices.Compact(targets)
	m = new(mdns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	if q.Qtype == mdns.TypePTR || q.Qtype == mdns.TypeANY {
		for _, t := range targets {
			m.Answer = append(m.Answer, &mdns.PTR{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypePTR, Class: mdns.ClassINET, Ttl: z.TTL}, Ptr: t})
		}
	}
	if len(m.Answer) == 0 {
		m.Ns = []mdns.RR{soa(z)}
	}
	return m, true
}
