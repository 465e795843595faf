package agent_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/internal/agent"
	"github.com/skiff-dev/skiff/internal/pki"
	"github.com/skiff-dev/skiff/internal/testserver"
)

// TestServePublishesEndpoint checks what the Node says about the agent's
// HTTPS endpoint across restarts: the bound port (another one when the
// asked one is taken), a certificate pin that stays the same (the
// certificate is reused), and neither once the agent stops serving.
func TestServePublishesEndpoint(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ca, err := os.ReadFile(filepath.Join(srv.DataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	killLeftovers(t, dir)
	node := func(wantServing bool) *corev1.Node {
		t.Helper()
		var n *corev1.Node
		deadline := time.Now().Add(20 * time.Second)
		for {
			var err error
			n, err = srv.Client.CoreV1().Nodes().Get(context.Background(), testNode, metav1.GetOptions{})
			serving := err == nil && n.Status.DaemonEndpoints.KubeletEndpoint.Port > 0 && n.Annotations[pki.ServingCertAnnotation] != ""
			off := err == nil && n.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 && n.Annotations[pki.ServingCertAnnotation] == ""
			if wantServing && serving || !wantServing && off {
				return n
			}
			if time.Now().After(deadline) {
				t.Fatalf("node (serving %v): %v %+v", wantServing, err, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The port asked for is taken (another agent): a free one is used
	// and published.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	serve := func(c *agent.Config) { c.ServeAddress, c.ClientCA = taken.Addr().String(), ca }

	a := startTestAgent(t, srv.Client, dir, serve)
	first := node(true)
	if got := int(first.Status.DaemonEndpoints.KubeletEndpoint.Port); got == taken.Addr().(*net.TCPAddr).Port {
		t.Fatalf("published the taken port %d", got)
	}
	pin := first.Annotations[pki.ServingCertAnnotation]
	cert, err := os.ReadFile(filepath.Join(dir, "pki", "serving.crt"))
	if err != nil {
		t.Fatalf("serving certificate not kept in the data dir: %v", err)
	}
	a.stop()

	// A restarted agent reuses its certificate: the pin does not change,
	// and what the new agent presents on its published port matches it.
	a = startTestAgent(t, srv.Client, dir, serve)
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := node(true)
		if got := n.Annotations[pki.ServingCertAnnotation]; got != pin {
			t.Fatalf("pin after restart %s, want %s", got, pin)
		}
		presented := servedFingerprint(net.JoinHostPort("127.0.0.1", strconv.Itoa(int(n.Status.DaemonEndpoints.KubeletEndpoint.Port))))
		if presented == pin {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted agent presents %q on its published port, want the pinned %s", presented, pin)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "pki", "serving.crt")); string(again) != string(cert) {
		t.Fatal("restart made a new serving certificate")
	}
	a.stop()

	// Not serving: the port and the stale pin go.
	startTestAgent(t, srv.Client, dir, nil)
	node(false)

	// Serving without the CA is a configuration error.
	if _, err := agent.New(agent.Config{NodeName: "x", DataDir: t.TempDir(), ServeAddress: "127.0.0.1:0"}, srv.Client, nil); err == nil {
		t.Fatal("ServeAddress without ClientCA accepted")
	}
}

// servedFingerprint is the fingerprint of the certificate served at addr
// ("" if nothing answers). The agent asks for a client certificate this
// dial does not have; its own certificate has been seen by then.
func servedFingerprint(addr string) string {
	var seen string
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) > 0 {
				seen = pki.Fingerprint(raw[0])
			}
			return nil
		}})
	if err == nil {
		conn.Close()
	}
	return seen
}
