package e2e

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestClusterDNS asks the cluster DNS, at the address the kube-dns
// Endpoints name, for services created with kubectl: real DNS packets.
func TestClusterDNS(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	addr := k.ok(t, "", "get", "endpoints", "kube-dns", "-n", "kube-system", "-o", "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("kube-dns endpoints %q: %v", addr, err)
	}
	k.ok(t, "", "create", "service", "clusterip", "web", "--tcp=80:8080")
	ip := k.ok(t, "", "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
	k.ok(t, "", "create", "service", "externalname", "db", "--external-name=db.example.org")

	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		var r *dns.Msg
		eventually(t, 10*time.Second, func() error {
			var err error
			r, _, err = (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
			return err
		})
		return r
	}
	eventually(t, 10*time.Second, func() error {
		r := ask("web.default.svc.cluster.local.", dns.TypeA)
		if len(r.Answer) != 1 || !strings.HasSuffix(r.Answer[0].String(), "\t"+ip) {
			return errString("A web: " + r.String())
		}
		return nil
	})
	r := ask("_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV)
	if r.Rcode != dns.RcodeNameError && r.Rcode != dns.RcodeSuccess {
		t.Fatalf("SRV of an unnamed port: %s", dns.RcodeToString[r.Rcode])
	}
	r = ask("_https._tcp.kubernetes.default.svc.cluster.local.", dns.TypeSRV)
	if len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), "443 kubernetes.default.svc.cluster.local.") {
		t.Fatalf("SRV kubernetes: %s", r)
	}
	r = ask("db.default.svc.cluster.local.", dns.TypeCNAME)
	if len(r.Answer) == 0 || !strings.Contains(r.Answer[0].String(), "CNAME\tdb.example.org.") {
		t.Fatalf("ExternalName CNAME: %s", r)
	}
	r = ask("missing.default.svc.cluster.local.", dns.TypeA)
	if r.Rcode != dns.RcodeNameError {
		t.Fatalf("missing service: %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
}

type errString string

func (e errString) Error() string { return string(e) }
