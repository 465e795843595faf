package dns

import (
	"os"
	"slices"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

// fakeView is a View from literal data.
type fakeView struct {
	services  []*Service
	endpoints map[string][]Endpoint // "ns/name"
	pods      map[string]bool       // "ns/ip"
}

func (f *fakeView) Service(ns, name string) *Service {
	for _, s := range f.services {
		if s.Namespace == ns && s.Name == name {
			return s
		}
	}
	return nil
}
func (f *fakeView) Endpoints(ns, name string) []Endpoint { return f.endpoints[ns+"/"+name] }
func (f *fakeView) NamespaceKnown(ns string) bool {
	return slices.ContainsFunc(f.services, func(s *Service) bool { return s.Namespace == ns })
}
func (f *fakeView) PodIP(ns, ip string) bool { return f.pods[ns+"/"+ip] }
func (f *fakeView) ServicesByIP(ip string) []*Service {
	var out []*Service
	for _, s := range f.services {
		if s.ClusterIP == ip {
			out = append(out, s)
		}
	}
	return out
}
func (f *fakeView) EndpointsByIP(ip string) []ServiceEndpoint {
	var out []ServiceEndpoint
	for k, eps := range f.endpoints {
		ns, name, _ := strings.Cut(k, "/")
		for _, e := range eps {
			if e.IP == ip {
				out = append(out, ServiceEndpoint{Service: f.Service(ns, name), Endpoint: e})
			}
		}
	}
	return out
}

func testView() *fakeView {
	web := []Port{{Name: "http", Protocol: "TCP", Port: 80}, {Name: "dns", Protocol: "UDP", Port: 53}, {Protocol: "TCP", Port: 9000}}
	return &fakeView{
		services: []*Service{
			{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10", Ports: web},
			{Namespace: "default", Name: "db", ClusterIP: "None", Ports: []Port{{Name: "pg", Protocol: "TCP", Port: 5432}}},
			{Namespace: "default", Name: "empty", ClusterIP: "None"},
			{Namespace: "default", Name: "ext", ExternalName: "example.com"},
		},
		endpoints: map[string][]Endpoint{
			"default/db": {
				{IP: "10.244.0.2", Hostname: "db-0", Ready: true, Ports: []Port{{Name: "pg", Protocol: "TCP", Port: 6432}}},
				{IP: "10.244.0.3", Ready: true, Ports: []Port{{Name: "pg", Protocol: "TCP", Port: 6432}}},
				{IP: "10.244.0.4", Hostname: "db-2", Ready: false, Ports: []Port{{Name: "pg", Protocol: "TCP", Port: 6432}}},
				{IP: "10.244.0.2", Hostname: "db-0", Ready: true}, // the same address in a second slice
			},
		},
		pods: map[string]bool{"default/10.244.0.9": true},
	}
}

// rrs renders a section compactly ("TYPE data"), sorted.
func rrs(section []mdns.RR) []string {
	var out []string
	for _, rr := range section {
		h := rr.Header()
		data := strings.TrimPrefix(rr.String(), h.String())
		out = append(out, mdns.TypeToString[h.Rrtype]+" "+data)
	}
	slices.Sort(out)
	return out
}

func TestAnswerZone(t *testing.T) {
	z := zoneInfo{Zone: "cluster.local.", TTL: 30, NegTTL: 5, Serial: 1}
	v := testView()
	cases := []struct {
		name  string
		qtype uint16
		rcode int
		ans   []string
		extra []string
	}{
		{"web.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, []string{"A 10.96.0.10"}, nil},
		{"WEB.Default.SVC.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, []string{"A 10.96.0.10"}, nil},
		{"web.default.svc.cluster.local.", mdns.TypeAAAA, mdns.RcodeSuccess, nil, nil},
		{"web.default.svc.cluster.local.", mdns.TypeMX, mdns.RcodeSuccess, nil, nil},
		{"nope.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeNameError, nil, nil},
		{"web.nons.svc.cluster.local.", mdns.TypeA, mdns.RcodeNameError, nil, nil},
		{"default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, nil, nil},
		{"nons.svc.cluster.local.", mdns.TypeA, mdns.RcodeNameError, nil, nil},
		{"svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, nil, nil},
		{"cluster.local.", mdns.TypeA, mdns.RcodeSuccess, nil, nil},
		{"cluster.local.", mdns.TypeSOA, mdns.RcodeSuccess, []string{"SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"}, nil},
		{"dns-version.cluster.local.", mdns.TypeTXT, mdns.RcodeSuccess, []string{`TXT "1.1.0"`}, nil},
		{"x.y.cluster.local.", mdns.TypeA, mdns.RcodeNameError, nil, nil},
		// SRV for a ClusterIP service.
		{"_http._tcp.web.default.svc.cluster.local.", mdns.TypeSRV, mdns.RcodeSuccess,
			[]string{"SRV 0 100 80 web.default.svc.cluster.local."}, []string{"A 10.96.0.10"}},
		{"_dns._udp.web.default.svc.cluster.local.", mdns.TypeSRV, mdns.RcodeSuccess,
			[]string{"SRV 0 100 53 web.default.svc.cluster.local."}, []string{"A 10.96.0.10"}},
		{"_http._udp.web.default.svc.cluster.local.", mdns.TypeSRV, mdns.RcodeNameError, nil, nil},
		{"_http._tcp.web.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, nil, nil},
		{"_tcp.web.default.svc.cluster.local.", mdns.TypeSRV, mdns.RcodeSuccess, nil, nil},
		{"web.default.svc.cluster.local.", mdns.TypeSRV, mdns.RcodeSuccess,
			[]string{"SRV 0 100 53 web.default.svc.cluster.local.", "SRV 0 100 80 web.default.svc.cluster.local."}, []string{"A 10.96.0.10"}},
		// Headless: ready endpoints only, deduplicated.
		{"db.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, []string{"A 10.244.0.2", "A 10.244.0.3"}, nil},
		{"db-0.db.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, []string{"A 10.244.0.2"}, nil},
		{"10-244-0-3.db.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, []string{"A 10.244.0.3"}, nil},
		{"db-2.db.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeNameError, nil, nil},
		{"db-0.db.default.svc.cluster.local.", mdns.TypeAAAA, mdns.RcodeSuccess, nil, nil},
		{"_pg._tcp.db.default.svc.cluster.local.", mdns.TypeSRV, mdns.RcodeSuccess,
			[]string{"SRV 0 50 6432 10-244-0-3.db.default.svc.cluster.local.", "SRV 0 50 6432 db-0.db.default.svc.cluster.local."},
			[]string{"A 10.244.0.2", "A 10.244.0.3"}},
		{"empty.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, nil, nil},
		// ExternalName.
		{"ext.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, []string{"CNAME example.com."}, nil},
		{"ext.default.svc.cluster.local.", mdns.TypeAAAA, mdns.RcodeSuccess, []string{"CNAME example.com."}, nil},
		// Pods (verified).
		{"10-244-0-9.default.pod.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, []string{"A 10.244.0.9"}, nil},
		{"10-244-0-9.default.pod.cluster.local.", mdns.TypeAAAA, mdns.RcodeSuccess, nil, nil},
		{"10-244-0-8.default.pod.cluster.local.", mdns.TypeA, mdns.RcodeNameError, nil, nil},
		{"not-an-ip.default.pod.cluster.local.", mdns.TypeA, mdns.RcodeNameError, nil, nil},
		{"pod.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, nil, nil},
	}
	for _, tc := range cases {
		t.Run(mdns.TypeToString[tc.qtype]+" "+tc.name, func(t *testing.T) {
			req := new(mdns.Msg)
			req.SetQuestion(tc.name, tc.qtype)
			m := answerZone(z, v, req)
			if m.Rcode != tc.rcode {
				t.Errorf("rcode = %s, want %s", mdns.RcodeToString[m.Rcode], mdns.RcodeToString[tc.rcode])
			}
			if got := rrs(m.Answer); !slices.Equal(got, tc.ans) {
				t.Errorf("answer = %q, want %q", got, tc.ans)
			}
			if got := rrs(m.Extra); !slices.Equal(got, tc.extra) {
				t.Errorf("extra = %q, want %q", got, tc.extra)
			}
			if !m.Authoritative {
				t.Errorf("not authoritative")
			}
			for _, rr := range m.Answer {
				if rr.Header().Name != tc.name || (rr.Header().Ttl != 30 && rr.Header().Rrtype != mdns.TypeSOA) {
					t.Errorf("answer header %v, want name as asked and TTL 30", rr.Header())
				}
			}
			if len(m.Answer) == 0 {
				if len(m.Ns) != 1 || m.Ns[0].Header().Rrtype != mdns.TypeSOA || m.Ns[0].Header().Ttl != 5 {
					t.Errorf("negative answer authority = %v, want the SOA with TTL 5", m.Ns)
				}
			}
		})
	}
}

func TestAnswerReverse(t *testing.T) {
	z := zoneInfo{Zone: "cluster.local.", TTL: 30, NegTTL: 5}
	v := testView()
	cases := []struct {
		name string
		ok   bool
		ans  []string
	}{
		{"10.0.96.10.in-addr.arpa.", true, []string{"PTR web.default.svc.cluster.local."}},
		{"2.0.244.10.in-addr.arpa.", true, []string{"PTR db-0.db.default.svc.cluster.local."}},
		{"3.0.244.10.in-addr.arpa.", true, []string{"PTR 10-244-0-3.db.default.svc.cluster.local."}},
		{"1.1.1.1.in-addr.arpa.", false, nil},
		{"0.244.10.in-addr.arpa.", false, nil},
	}
	for _, tc := range cases {
		req := new(mdns.Msg)
		req.SetQuestion(tc.name, mdns.TypePTR)
		m, ok := answerReverse(z, v, req)
		if ok != tc.ok {
			t.Errorf("%s: ok = %v", tc.name, ok)
			continue
		}
		if ok && !slices.Equal(rrs(m.Answer), tc.ans) {
			t.Errorf("%s: answer %q, want %q", tc.name, rrs(m.Answer), tc.ans)
		}
	}
}

func TestWithoutSelf(t *testing.T) {
	self := mustAddrPort("127.0.0.1:53")
	got := withoutSelf([]string{"127.0.0.1:53", "127.0.0.53:53", "10.0.0.1:53", "bad"}, self)
	if !slices.Equal(got, []string{"127.0.0.53:53", "10.0.0.1:53"}) {
		t.Errorf("got %v", got)
	}
	got = withoutSelf([]string{"127.0.0.1:53", "10.0.0.1:53"}, mustAddrPort("0.0.0.0:53"))
	if !slices.Equal(got, []string{"10.0.0.1:53"}) {
		t.Errorf("unspecified: got %v", got)
	}
}

func TestResolvConfUpstreams(t *testing.T) {
	p := t.TempDir() + "/resolv.conf"
	if err := os.WriteFile(p, []byte("search default.svc.cluster.local\nnameserver 127.0.0.53\nnameserver 10.0.0.2\noptions ndots:5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := resolvConfUpstreams(p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"127.0.0.53:53", "10.0.0.2:53"}) {
		t.Errorf("got %v", got)
	}
	if _, err := resolvConfUpstreams(p + ".missing"); err == nil {
		t.Error("no error for a missing file")
	}
}
