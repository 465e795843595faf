package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadCreatesThenReuses(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	b1, err := Load(dir, []string{"127.0.0.5"}, now)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(b1.CACert)
	for _, host := range []string{"localhost", "127.0.0.1", "127.0.0.5", "kubernetes.default.svc"} {
		if _, err := b1.Serving.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("serving certificate for %s: %v", host, err)
		}
	}
	if len(b1.AdminAuth) != 64 {
		t.Fatalf("admin token %d characters, want 64 hex", len(b1.AdminAuth))
	}
	if fi, err := os.Stat(filepath.Join(dir, caKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("CA key: %v %v", fi.Mode(), err)
	}
	b2, err := Load(dir, []string{"127.0.0.5"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !b2.CACert.Equal(b1.CACert) || !b2.Serving.Leaf.Equal(b1.Serving.Leaf) || b2.AdminAuth != b1.AdminAuth {
		t.Fatal("second load did not reuse the credentials")
	}
	// A new address needs a new serving certificate from the same CA.
	b3, err := Load(dir, []string{"127.0.0.9"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !b3.CACert.Equal(b1.CACert) || b3.Serving.Leaf.Equal(b1.Serving.Leaf) {
		t.Fatal("new host: want same CA, new serving certificate")
	}
	if _, err := b3.Serving.Leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.9", Roots: pool}); err != nil {
		t.Fatalf("re-issued certificate: %v", err)
	}
}

func TestKubeconfig(t *testing.T) {
	b, err := Load(t.TempDir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kc, err := Kubeconfig("https://127.0.0.1:6443", b.CAPEM, b.AdminAuth)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server: https://127.0.0.1:6443", "token: " + b.AdminAuth, "current-context: skiff"} {
		if !strings.Contains(string(kc), want) {
			t.Fatalf("kubeconfig lacks %q:\n%s", want, kc)
		}
	}
}
