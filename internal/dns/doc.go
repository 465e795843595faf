// Package dns is skiff's cluster DNS: an authoritative server for the
// cluster zone (cluster.local. by default) that answers as the Kubernetes
// DNS-Based Service Discovery specification (schema 1.1.0) describes, fed
// by client-go informers, and a forwarder for every other name.
//
// # Records
//
//   - <svc>.<ns>.svc.<zone> A: the ClusterIP; for a headless service the
//     IPs of its ready endpoints (EndpointSlices, deduplicated).
//   - <host>.<svc>.<ns>.svc.<zone> A: the endpoint whose hostname (e.g. a
//     StatefulSet pod's, or hostname+subdomain pods) or dashed IP
//     (10-0-0-1) is <host>.
//   - _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV: for each named port;
//     ClusterIP services point at the service name, headless ones at each
//     ready endpoint's <host>.<svc>.<ns>.svc.<zone>, with the A records in
//     the additional section. A bare <svc>.<ns>.svc.<zone> SRV query lists
//     every named port.
//   - ExternalName services: a CNAME to spec.externalName for any type.
//   - <a-b-c-d>.<ns>.pod.<zone> A: only when a pod with that IP exists in
//     that namespace ("pods verified").
//   - PTR in in-addr.arpa for ClusterIPs (the service name) and endpoint
//     IPs (<host>.<svc>.<ns>.svc.<zone>); unknown IPs are forwarded.
//   - dns-version.<zone> TXT "1.1.0", and SOA/NS at the apex.
//
// Names that exist but lack the asked type (AAAA for IPv4-only names,
// empty non-terminals such as svc.<zone> or an existing namespace) answer
// NOERROR with no records (NODATA); other names NXDOMAIN. Negative answers
// carry the zone's SOA in the authority section, whose minimum is the
// negative TTL (5s by default; positive answers 30s).
//
// # Shape
//
// The answer logic (answer.go, reverse.go) is pure: a View of the cluster
// and a question in, a *dns.Msg out; it is tested by tables. view.go
// implements View over informer indexes (service by ClusterIP, slices by
// service and by address, pods by IP). server.go binds UDP and TCP, trims
// UDP replies to the client's buffer with the TC bit set, and forward.go
// sends everything outside the zone to the upstream resolvers (by default
// those of /etc/resolv.conf, minus this server itself), answering
// SERVFAIL when none answers.
//
// It imports k8s.io packages (through client-go informers only) and
// github.com/miekg/dns; nothing of skiff's.
package dns
