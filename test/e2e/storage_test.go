package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestStatefulSetStorage: each pod of a StatefulSet gets its own claim,
// provisioned by the local-path provisioner; a file web-1 wrote is there
// again when web-1 is deleted and comes back, with a new address.
func TestStatefulSetStorage(t *testing.T) {
	s := startServer(t, "")
	k := kubectls(t, s)[0]
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	k.ok(t, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: keep}
spec:
  clusterIP: None
  selector: {app: keep}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: keep
  replicas: 2
  selector: {matchLabels: {app: keep}}
  template:
    metadata: {labels: {app: keep}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: c
        image: keeper
        command: [%q, keeper]
        env:
        - {name: %s, value: keeper}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 10Mi}}
`, self, workloadEnv), "apply", "-f", "-")
	k.ok(t, "", "rollout", "status", "statefulset/web", "--timeout=60s")
	pvcs := k.ok(t, "", "get", "pvc", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}`)
	if strings.TrimSpace(pvcs) != "data-web-0=Bound data-web-1=Bound" {
		t.Fatalf("claims: %q", pvcs)
	}
	oldIP := k.ok(t, "", "get", "pod", "web-1", "-o", "jsonpath={.status.podIP}")
	eventually(t, 10*time.Second, func() error {
		logs, err := k.try(t, "logs", "web-1")
		if err != nil {
			return err
		}
		if !strings.Contains(logs, `found ""`) {
			return fmt.Errorf("first web-1 logs %q", logs)
		}
		return nil
	})
	oldUID := k.ok(t, "", "get", "pod", "web-1", "-o", "jsonpath={.metadata.uid}")
	k.ok(t, "", "delete", "pod", "web-1")
	eventually(t, 60*time.Second, func() error {
		uid, err := k.try(t, "get", "pod", "web-1", "-o", "jsonpath={.metadata.uid} {.status.phase}")
		if err != nil {
			return err
		}
		if strings.HasPrefix(uid, oldUID) || !strings.HasSuffix(uid, " Running") {
			return fmt.Errorf("web-1 not back yet: %q", uid)
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error {
		logs, err := k.try(t, "logs", "web-1")
		if err != nil {
			return err
		}
		if !strings.Contains(logs, "found \"web-1@"+oldIP+"\"") {
			return fmt.Errorf("new web-1 did not find the old file: logs %q", logs)
		}
		return nil
	})
	// Its DNS name follows it to the new address.
	newIP := k.ok(t, "", "get", "pod", "web-1", "-o", "jsonpath={.status.podIP}")
	dnsAddr := k.ok(t, "", "get", "endpoints", "kube-dns", "-n", "kube-system", "-o", "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}")
	eventually(t, 20*time.Second, func() error {
		m := new(dns.Msg)
		m.SetQuestion("web-1.keep.default.svc.cluster.local.", dns.TypeA)
		r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, dnsAddr)
		if err != nil {
			return err
		}
		if len(r.Answer) != 1 || !strings.HasSuffix(r.Answer[0].String(), "\t"+newIP) {
			return fmt.Errorf("web-1 resolves to %v, want %s", r.Answer, newIP)
		}
		return nil
	})
	k.ok(t, "", "delete", "statefulset", "web")
}
