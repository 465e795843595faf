package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKubeletClientCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	b1, err := Load(dir, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf := b1.KubeletClient.Leaf
	if leaf == nil || leaf.Subject.CommonName != KubeletClientName {
		t.Fatalf("kubelet client certificate %+v", leaf)
	}
	pool := x509.NewCertPool()
	pool.AddCert(b1.CACert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client certificate does not verify as a client of the CA: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, kubeletClientKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("client key: %v %v", fi, err)
	}
	b2, err := Load(dir, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if !b2.KubeletClient.Leaf.Equal(leaf) {
		t.Fatal("second load re-issued the kubelet client certificate")
	}
	// Close to expiry: re-issued at start.
	b3, err := Load(dir, nil, now.AddDate(1, 0, -10))
	if err != nil {
		t.Fatal(err)
	}
	if b3.KubeletClient.Leaf.Equal(leaf) {
		t.Fatal("an expiring kubelet client certificate was kept")
	}
}

func TestSelfSignedReusedAndPinned(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	c1, err := LoadOrCreateSelfSigned(dir, "node-a", []string{"127.0.0.1", "node-a.local"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c1.Leaf.Subject.CommonName, "node-a@") || c1.Leaf.VerifyHostname("127.0.0.1") != nil {
		t.Fatalf("self-signed certificate: CN %q, IPs %v", c1.Leaf.Subject.CommonName, c1.Leaf.IPAddresses)
	}
	// Other hosts: the same certificate, so the published pin stays valid.
	c2, err := LoadOrCreateSelfSigned(dir, "node-a", []string{"127.0.0.2"}, now)
	if err != nil {
		t.Fatal(err)
	}
	fp := Fingerprint(c1.Certificate[0])
	if Fingerprint(c2.Certificate[0]) != fp {
		t.Fatal("second start made a new serving certificate")
	}
	verify := VerifyPinned(fp)
	if err := verify([][]byte{c2.Certificate[0]}, nil); err != nil {
		t.Fatalf("pinned certificate refused: %v", err)
	}
	// A corrupt file is replaced by a new certificate (and a new pin).
	if err := os.WriteFile(filepath.Join(dir, "serving.crt"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	c3, err := LoadOrCreateSelfSigned(dir, "node-a", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify([][]byte{c3.Certificate[0]}, nil); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("another certificate against the old pin: %v", err)
	}
	if err := VerifyPinned("")([][]byte{c3.Certificate[0]}, nil); err == nil {
		t.Fatal("an empty pin accepted a certificate")
	}
	if err := verify(nil, nil); err == nil {
		t.Fatal("no certificate accepted")
	}
}
