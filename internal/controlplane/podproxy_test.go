package controlplane_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/skiff-dev/skiff/internal/agent"
	"github.com/skiff-dev/skiff/internal/pki"
	"github.com/skiff-dev/skiff/internal/testserver"
)

// workloadEnv makes the test binary a pod's container: it serves HTTP on
// $POD_IP:$PORT. Run with the argument "whoami" (by exec) it prints the
// pod's name and exits with 3; with "cat" it copies stdin to stdout.
const workloadEnv = "SKIFF_CONTROLPLANE_TEST_WORKLOAD"

func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == "cat" {
		_, _ = io.Copy(os.Stdout, os.Stdin)
		os.Exit(0)
	}
	if len(os.Args) == 2 && os.Args[1] == "whoami" {
		fmt.Println("I am", os.Getenv("POD_NAME"))
		os.Exit(3)
	}
	if os.Getenv(workloadEnv) == "http" {
		addr := net.JoinHostPort(os.Getenv("POD_IP"), os.Getenv("PORT"))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			os.Exit(1)
		}
		fmt.Println("serving on", addr)
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "hello from %s\n", os.Getenv("POD_NAME"))
		}))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// joined is a control plane without a local agent and one agent joined
// to it that serves on 127.0.0.1.
type joined struct {
	srv  *testserver.Server
	node *corev1.Node // the agent's Node once it publishes its endpoint
}

func startJoined(t *testing.T) *joined {
	t.Helper()
	s := testserver.Start(t, testserver.Options{})
	ca, err := os.ReadFile(filepath.Join(s.DataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, err := agent.New(agent.Config{
		NodeName: "remote", DataDir: dir, StopPodsOnExit: true, HeartbeatInterval: time.Second,
		ServeAddress: "127.0.0.1:0", ClientCA: ca,
	}, s.Client, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("agent did not stop")
		}
	})
	j := &joined{srv: s}
	poll(t, 20*time.Second, func() error {
		n, err := s.Client.CoreV1().Nodes().Get(context.Background(), "remote", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if n.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 || n.Annotations[pki.ServingCertAnnotation] == "" {
			return fmt.Errorf("node publishes port %d, pin %q", n.Status.DaemonEndpoints.KubeletEndpoint.Port, n.Annotations[pki.ServingCertAnnotation])
		}
		j.node = n
		return nil
	})
	return j
}

// agentAddr is where the joined agent listens.
func (j *joined) agentAddr(t *testing.T) string {
	t.Helper()
	var ip string
	for _, a := range j.node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ip = a.Address
		}
	}
	if ip != "127.0.0.1" {
		t.Fatalf("joined node InternalIP %q, want 127.0.0.1", ip)
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(j.node.Status.DaemonEndpoints.KubeletEndpoint.Port)))
}

// runPod creates a pod running the HTTP workload on node and waits until
// it runs (when an agent runs the node).
func runPod(t *testing.T, c kubernetes.Interface, name, node string, wait bool) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{
				Name: "web", Image: "web", Command: []string{self},
				Env: []corev1.EnvVar{
					{Name: workloadEnv, Value: "http"},
					{Name: "PORT", Value: "8080"},
					{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				},
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			}},
		},
	}
	if _, err := c.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !wait {
		return
	}
	poll(t, 30*time.Second, func() error {
		p, err := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("pod %s is %s", name, p.Status.Phase)
		}
		return nil
	})
}

// TestPodSubresourcesReachJoinedAgent drives logs, exec (SPDY and
// WebSocket) and port-forward (SPDY and SPDY over WebSocket) through the
// API server to a pod of an agent joined over HTTPS.
func TestPodSubresourcesReachJoinedAgent(t *testing.T) {
	j := startJoined(t)
	c := j.srv.Client
	runPod(t, c, "web", "remote", true)

	// Logs, and a followed log streams before the request ends.
	poll(t, 10*time.Second, func() error {
		b, err := c.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{}).DoRaw(context.Background())
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "serving on ") {
			return fmt.Errorf("logs %q", b)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	rc, err := c.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{Follow: true}).Stream(ctx)
	if err != nil {
		t.Fatalf("follow logs: %v", err)
	}
	line, err := bufio.NewReader(rc).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "serving on ") {
		t.Fatalf("followed log: %q, %v", line, err)
	}
	rc.Close()
	cancel()

	// exec: output and exit code come back through both protocols.
	self, _ := os.Executable()
	req := c.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("web").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: []string{self, "whoami"}, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	spdyExec, err := remotecommand.NewSPDYExecutor(j.srv.Config, "POST", req.URL())
	if err != nil {
		t.Fatal(err)
	}
	wsExec, err := remotecommand.NewWebSocketExecutor(j.srv.Config, "GET", req.URL().String())
	if err != nil {
		t.Fatal(err)
	}
	for name, ex := range map[string]remotecommand.Executor{"spdy": spdyExec, "websocket": wsExec} {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
		cancel()
		var exit utilexec.ExitError
		if !errors.As(err, &exit) || exit.ExitStatus() != 3 || strings.TrimSpace(stdout.String()) != "I am web" {
			t.Fatalf("exec over %s: err %v, stdout %q, stderr %q", name, err, stdout.String(), stderr.String())
		}
	}

	// exec -i: stdin goes the other way through the proxy.
	req = c.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("web").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: []string{self, "cat"}, Stdin: true, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	for _, name := range []string{"spdy", "websocket"} {
		var ex remotecommand.Executor
		if name == "spdy" {
			ex, err = remotecommand.NewSPDYExecutor(j.srv.Config, "POST", req.URL())
		} else {
			ex, err = remotecommand.NewWebSocketExecutor(j.srv.Config, "GET", req.URL().String())
		}
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("through stdin\n"), Stdout: &stdout, Stderr: &stderr})
		cancel()
		if err != nil || stdout.String() != "through stdin\n" {
			t.Fatalf("exec -i over %s: err %v, stdout %q, stderr %q", name, err, stdout.String(), stderr.String())
		}
	}

	// port-forward: a local port reaches the pod's 8080.
	pfURL := c.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("web").SubResource("portforward").URL()
	tr, upgrader, err := spdy.RoundTripperFor(j.srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	wsDialer, err := portforward.NewSPDYOverWebsocketDialer(pfURL, j.srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]httpstream.Dialer{
		"spdy":           spdy.NewDialer(upgrader, &http.Client{Transport: tr}, "POST", pfURL),
		"spdy-websocket": wsDialer,
	} {
		stop, ready := make(chan struct{}), make(chan struct{})
		var out, errOut bytes.Buffer
		fw, err := portforward.NewOnAddresses(d, []string{"127.0.0.1"}, []string{"0:8080"}, stop, ready, &out, &errOut)
		if err != nil {
			t.Fatal(err)
		}
		fwDone := make(chan error, 1)
		go func() { fwDone <- fw.ForwardPorts() }()
		select {
		case <-ready:
		case err := <-fwDone:
			t.Fatalf("port-forward over %s: %v (%s)", name, err, errOut.String())
		case <-time.After(20 * time.Second):
			t.Fatalf("port-forward over %s not ready", name)
		}
		ports, err := fw.GetPorts()
		if err != nil || len(ports) != 1 {
			t.Fatalf("forwarded ports %v, %v", ports, err)
		}
		body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local))
		close(stop)
		<-fwDone
		if body != "hello from web" {
			t.Fatalf("through port-forward over %s: %q", name, body)
		}
	}
}

// TestPodSubresourceErrors checks the Status of each way a pod's node
// cannot be reached.
func TestPodSubresourceErrors(t *testing.T) {
	j := startJoined(t)
	c := j.srv.Client
	ctx := context.Background()

	// A node with an endpoint nobody listens on, one without a port, one
	// whose pin is not the agent's (at the real agent's address).
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := int32(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	agentPort := j.node.Status.DaemonEndpoints.KubeletEndpoint.Port
	for _, n := range []struct {
		name string
		port int32
		pin  string
	}{
		{"no-port", 0, strings.Repeat("ab", 32)},
		{"no-pin", agentPort, ""},
		{"impostor", agentPort, strings.Repeat("ab", 32)},
		{"down", closedPort, j.node.Annotations[pki.ServingCertAnnotation]},
	} {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name}}
		if n.pin != "" {
			node.Annotations = map[string]string{pki.ServingCertAnnotation: n.pin}
		}
		node, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = n.port
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		runPod(t, c, "on-"+n.name, n.name, false)
	}
	runPod(t, c, "unscheduled", "", false)
	runPod(t, c, "on-missing-node", "missing", false)

	// Stream, as kubectl logs, decodes the Status of an error.
	logs := func(pod string) error {
		rc, err := c.CoreV1().Pods("default").GetLogs(pod, &corev1.PodLogOptions{}).Stream(ctx)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.ReadAll(rc)
		return err
	}
	for _, tc := range []struct {
		pod  string
		code int32
		msg  string
	}{
		{"nope", 404, `pods "nope" not found`},
		{"on-missing-node", 404, `nodes "missing" not found`},
		{"on-no-port", 503, "node no-port publishes no agent endpoint"},
		{"on-no-pin", 503, "node no-pin publishes no serving certificate fingerprint"},
		{"on-impostor", 503, "does not match the pinned"},
		{"on-down", 503, "error dialing backend"},
	} {
		err := logs(tc.pod)
		var se apierrors.APIStatus
		if !errors.As(err, &se) || se.Status().Code != tc.code || !strings.Contains(se.Status().Message, tc.msg) {
			t.Errorf("logs of %s: %v, want %d %q", tc.pod, err, tc.code, tc.msg)
		}
	}
	// Unscheduled: an empty log (as kube-apiserver), exec refused.
	if err := logs("unscheduled"); err != nil {
		t.Errorf("logs of an unscheduled pod: %v", err)
	}
	req := c.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("unscheduled").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: []string{"true"}, Stdout: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(j.srv.Config, "POST", req.URL())
	if err != nil {
		t.Fatal(err)
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "pod unscheduled does not have a host assigned") {
		t.Errorf("exec in an unscheduled pod: %v", err)
	}
}

// TestAgentEndpointNeedsAPIServerCertificate calls the agent directly:
// only the API server's client certificate gets in.
func TestAgentEndpointNeedsAPIServerCertificate(t *testing.T) {
	j := startJoined(t)
	addr := j.agentAddr(t)
	pin := j.node.Annotations[pki.ServingCertAnnotation]
	pkiDir := filepath.Join(j.srv.DataDir, "pki")
	apiserverCert, err := tls.LoadX509KeyPair(filepath.Join(pkiDir, "apiserver-kubelet-client.crt"), filepath.Join(pkiDir, "apiserver-kubelet-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := tls.LoadX509KeyPair(filepath.Join(pkiDir, "ca.crt"), filepath.Join(pkiDir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(certs []tls.Certificate) (string, error) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			Certificates: certs, InsecureSkipVerify: true, VerifyPeerCertificate: pki.VerifyPinned(pin),
		}}}
		resp, err := c.Get("https://" + addr + "/healthz")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b), err
	}
	if got, err := get([]tls.Certificate{apiserverCert}); err != nil || got != "200 ok" {
		t.Fatalf("with the API server's certificate: %q, %v", got, err)
	}
	for name, certs := range map[string][]tls.Certificate{
		"no certificate":          nil,
		"admin signed by the CA":  {issue(t, "admin", caCert)},
		"self-signed, right name": {issue(t, pki.KubeletClientName, tls.Certificate{})},
	} {
		if got, err := get(certs); err == nil {
			t.Errorf("%s: agent answered %q", name, got)
		}
	}
	// The agent's certificate is what the Node publishes: another pin is
	// refused by the client side.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{apiserverCert}, InsecureSkipVerify: true,
		VerifyPeerCertificate: pki.VerifyPinned(strings.Repeat("00", 32)),
	}}}
	if resp, err := c.Get("https://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a wrong pin was accepted")
	}
}

// issue makes a client certificate named cn, signed by parent (or
// self-signed when parent is empty).
func issue(t *testing.T, cn string, parent tls.Certificate) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	signer, signKey := tmpl, any(key)
	if parent.PrivateKey != nil {
		if signer, err = x509.ParseCertificate(parent.Certificate[0]); err != nil {
			t.Fatal(err)
		}
		signKey = parent.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// poll retries f until it succeeds or the deadline passes.
func poll(t *testing.T, within time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
