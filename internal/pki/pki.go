package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names inside the data directory's pki folder.
const (
	caCertFile    = "ca.crt"
	caKeyFile     = "ca.key"
	serveCertFile = "apiserver.crt"
	serveKeyFile  = "apiserver.key"
	adminToken    = "admin.token"
)

// Bundle is the server's credentials.
type Bundle struct {
	CACert    *x509.Certificate
	CAPEM     []byte
	caKey     *ecdsa.PrivateKey
	Serving   tls.Certificate
	AdminAuth string // the admin bearer token
	// KubeletClient is the API server's client certificate towards node
	// agents (CommonName KubeletClientName, signed by the CA).
	KubeletClient tls.Certificate
}

// Load reads the credentials under dir, creating what is missing. The
// serving certificate covers hosts (IPs or DNS names) plus localhost and
// 127.0.0.1; it is re-issued when hosts change or it nears expiry.
func Load(dir string, hosts []string, now time.Time) (*Bundle, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki dir: %w", err)
	}
	b := &Bundle{}
	if err := b.loadOrCreateCA(dir, now); err != nil {
		return nil, err
	}
	if err := b.loadOrCreateServing(dir, hosts, now); err != nil {
		return nil, err
	}
	if err := b.loadOrCreateKubeletClient(dir, now); err != nil {
		return nil, err
	}
	tok, err := LoadOrCreateToken(filepath.Join(dir, adminToken))
	if err != nil {
		return nil, err
	}
	b.AdminAuth = tok
	return b, nil
}

func (b *Bundle) loadOrCreateCA(dir string, now time.Time) error {
	certPEM, err1 := os.ReadFile(filepath.Join(dir, caCertFile))
	keyPEM, err2 := os.ReadFile(filepath.Join(dir, caKeyFile))
	if err1 == nil && err2 == nil {
		cert, key, err := parsePair(certPEM, keyPEM)
		if err != nil {
			return fmt.Errorf("load CA: %w", err)
		}
		b.CACert, b.caKey, b.CAPEM = cert, key, certPEM
		return nil
	}
	if !errors.Is(err1, os.ErrNotExist) && err1 != nil {
		return err1
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("skiff-ca@%d", now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(dir, caKeyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(dir, caCertFile), certPEM, 0o644); err != nil {
		return err
	}
	b.CACert, b.caKey, b.CAPEM = cert, key, certPEM
	return nil
}

func (b *Bundle) loadOrCreateServing(dir string, hosts []string, now time.Time) error {
	hosts = append([]string{"localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, hosts...)
	certPath, keyPath := filepath.Join(dir, serveCertFile), filepath.Join(dir, serveKeyFile)
	if cert, err := loadPair(certPath, keyPath); err == nil && covers(cert.Leaf, hosts) &&
		now.Add(renewBefore).Before(cert.Leaf.NotAfter) && cert.Leaf.CheckSignatureFrom(b.CACert) == nil {
		b.Serving = cert
		return nil
	}
	var err error
	b.Serving, err = b.issue(certPath, keyPath, pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth, hosts, now)
	return err
}

// issue makes a key and a certificate for subject signed by the CA, valid
// one year from now, for usage and the given hosts, and writes both.
func (b *Bundle) issue(certPath, keyPath string, subject pkix.Name, usage x509.ExtKeyUsage, hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      subject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	addHosts(tmpl, hosts)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, b.CACert, &key.PublicKey, b.caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return writePair(certPath, keyPath, der, key)
}

// addHosts names hosts (IP addresses or DNS names; empty ones skipped) in
// a certificate template, each once.
func addHosts(tmpl *x509.Certificate, hosts []string) {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "" && !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
}

// covers reports whether cert names every host.
func covers(cert *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("no PEM data")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// LoadOrCreateToken reads a token file, creating it with 32 random bytes
// (hex) when missing.
func LoadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) > 0 {
		return string(trimNL(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw)
	if err := WriteFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// WriteFileAtomic writes data to path through a temp file and a rename, so
// that readers see the old or the new content, never a part.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
