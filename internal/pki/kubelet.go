package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The API server and the node agents authenticate each other on the
// agent's HTTPS port (the kubelet's 10250) without the agents holding the
// CA key:
//
//   - the API server presents a client certificate signed by the cluster
//     CA whose CommonName is KubeletClientName (kubeadm's
//     apiserver-kubelet-client); agents accept no one else;
//   - an agent serves with a self-signed certificate it makes on first
//     start and publishes the certificate's SHA-256 fingerprint on its
//     Node (ServingCertAnnotation); the API server pins it. Kubernetes by
//     default does not verify kubelet serving certificates at all.
const (
	// KubeletClientName is the CommonName of the API server's client
	// certificate towards node agents.
	KubeletClientName = "skiff-apiserver-kubelet-client"
	// ServingCertAnnotation on a Node holds Fingerprint of its agent's
	// serving certificate.
	ServingCertAnnotation = "skiff.dev/serving-cert-sha256"
)

// File names of the API server's kubelet client certificate.
const (
	kubeletClientCertFile = "apiserver-kubelet-client.crt"
	kubeletClientKeyFile  = "apiserver-kubelet-client.key"
)

// renewBefore is how long before expiry a certificate is re-issued at
// start.
const renewBefore = 30 * 24 * time.Hour

// loadOrCreateKubeletClient loads the API server's client certificate
// towards node agents, issuing it from the CA when missing, expiring or
// not signed by the current CA.
func (b *Bundle) loadOrCreateKubeletClient(dir string, now time.Time) error {
	certPath, keyPath := filepath.Join(dir, kubeletClientCertFile), filepath.Join(dir, kubeletClientKeyFile)
	if cert, err := loadPair(certPath, keyPath); err == nil &&
		cert.Leaf.Subject.CommonName == KubeletClientName &&
		now.Add(renewBefore).Before(cert.Leaf.NotAfter) &&
		cert.Leaf.CheckSignatureFrom(b.CACert) == nil {
		b.KubeletClient = cert
		return nil
	}
	cert, err := b.issue(certPath, keyPath, pkix.Name{CommonName: KubeletClientName, Organization: []string{"system:masters"}},
		x509.ExtKeyUsageClientAuth, nil, now)
	if err != nil {
		return fmt.Errorf("kubelet client certificate: %w", err)
	}
	b.KubeletClient = cert
	return nil
}

// LoadOrCreateSelfSigned returns the serving certificate of a node agent
// kept under dir (serving.crt, serving.key), creating a self-signed one
// named cn for hosts (IPs or DNS names) when missing or expiring. An
// existing certificate is reused even if hosts changed: its fingerprint
// is what clients pin, and it should stay stable across restarts.
func LoadOrCreateSelfSigned(dir, cn string, hosts []string, now time.Time) (tls.Certificate, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("pki dir: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, "serving.crt"), filepath.Join(dir, "serving.key")
	// A missing, unreadable or expiring pair is replaced: the new
	// fingerprint is published on the Node anyway.
	if cert, err := loadPair(certPath, keyPath); err == nil && now.Add(renewBefore).Before(cert.Leaf.NotAfter) {
		return cert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	// Named as the kubelet names its self-signed certificate (host@time),
	// valid one year, for server authentication.
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: fmt.Sprintf("%s@%d", cn, now.Unix())},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	addHosts(tmpl, append([]string{cn}, hosts...))
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	return writePair(certPath, keyPath, der, key)
}

// Fingerprint is the lowercase hex SHA-256 of a certificate's DER bytes.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// VerifyPinned returns a tls.Config.VerifyPeerCertificate that accepts
// only a peer whose leaf certificate has the given Fingerprint. It is
// meant for a config with InsecureSkipVerify (the peer is self-signed):
// the pin replaces the chain and name checks, so it must never be empty.
func VerifyPinned(fingerprint string) func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	return func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		if fingerprint == "" {
			return errors.New("no certificate fingerprint to verify the peer against")
		}
		if len(rawCerts) == 0 {
			return errors.New("peer presented no certificate")
		}
		if got := Fingerprint(rawCerts[0]); got != fingerprint {
			return fmt.Errorf("peer certificate sha256 %s does not match the pinned %s", got, fingerprint)
		}
		return nil
	}
}

// loadPair reads a certificate and key pair with its parsed leaf.
func loadPair(certPath, keyPath string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, err
		}
	}
	return cert, nil
}

// writePair writes a certificate (DER) and its key as PEM files, the key
// owner-only, and returns them as a tls.Certificate.
func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) (tls.Certificate, error) {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	if err := WriteFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := WriteFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert.Leaf, err = x509.ParseCertificate(der)
	return cert, err
}
