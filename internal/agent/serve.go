package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-dev/skiff/internal/pki"
)

// server is the agent's HTTPS endpoint, the kubelet's port 10250: the API
// server proxies pods/log, exec, attach and portforward of this node's
// pods to it, under the same paths (/api/v1/namespaces/NS/pods/NAME/SUB).
//
// Only the API server may call it: clients must present a certificate
// signed by the cluster CA (Config.ClientCA) with the CommonName
// pki.KubeletClientName. Its own certificate is self-signed (the agent
// has no CA key), kept under DataDir/pki and reused across restarts; its
// fingerprint is published on the Node (pki.ServingCertAnnotation) for
// the API server to pin, with the bound port in
// status.daemonEndpoints.kubeletEndpoint.
type server struct {
	ln          net.Listener
	port        int32
	fingerprint string
	srv         *http.Server
}

// listen loads (or makes) the serving certificate and binds
// Config.ServeAddress, so that the port and fingerprint are known before
// the Node is registered. It returns nil when the agent does not serve.
func (a *Agent) listen() (*server, error) {
	if a.cfg.ServeAddress == "" {
		return nil, nil
	}
	cert, err := pki.LoadOrCreateSelfSigned(filepath.Join(a.cfg.DataDir, "pki"), a.cfg.NodeName, []string{a.cfg.HostIP}, time.Now())
	if err != nil {
		return nil, fmt.Errorf("agent serving certificate: %w", err)
	}
	cas := x509.NewCertPool()
	if !cas.AppendCertsFromPEM(a.cfg.ClientCA) {
		return nil, errors.New("agent: the client CA holds no PEM certificate")
	}
	tcp, err := net.Listen("tcp", a.cfg.ServeAddress)
	if errors.Is(err, syscall.EADDRINUSE) {
		// Another agent (or a kubelet) on this machine has the port: any
		// port will do, the Node publishes the one bound.
		host, _, _ := net.SplitHostPort(a.cfg.ServeAddress)
		tcp, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err == nil {
			a.log.Warn("agent port taken (another agent on this machine?); using another", "wanted", a.cfg.ServeAddress, "address", tcp.Addr().String())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("agent: listen on %s: %w", a.cfg.ServeAddress, err)
	}
	ln := tls.NewListener(tcp, &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    cas,
		// The chain was verified (signed by the CA, for client auth);
		// the name says it is the API server and not, say, the admin.
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0].Subject.CommonName != pki.KubeletClientName {
				return errors.New("only the API server may call the node agent")
			}
			return nil
		},
		// HTTP/1.1 only: exec and port-forward upgrade the connection.
		NextProtos: []string{"http/1.1"},
		MinVersion: tls.VersionTLS12,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("/api/v1/namespaces/", a.PodSubresources())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteStatus(w, apierrors.NewNotFound(schema.GroupResource{}, r.URL.Path))
	})
	return &server{
		ln:          ln,
		port:        int32(tcp.Addr().(*net.TCPAddr).Port),
		fingerprint: pki.Fingerprint(cert.Certificate[0]),
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 30 * time.Second,
			// Refused handshakes (no or a wrong client certificate) are
			// the caller's problem, not the node's: debug only.
			ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
		},
	}, nil
}

// serve answers on the listener until ctx ends, then closes it and the
// connections it serves. Requests' contexts end with ctx too, which ends
// the exec sessions and port-forwards that took over their connection.
func (s *server) serve(ctx context.Context, log *slog.Logger) {
	s.srv.BaseContext = func(net.Listener) context.Context { return ctx }
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("agent server stopped", "err", err)
		}
	}()
	<-ctx.Done()
	_ = s.srv.Close()
	<-done
}

// publishedPort is the port the Node publishes (0: not served).
func (s *server) publishedPort() int32 {
	if s == nil {
		return 0
	}
	return s.port
}

// publishedFingerprint is the serving certificate's pin ("": not served).
func (s *server) publishedFingerprint() string {
	if s == nil {
		return ""
	}
	return s.fingerprint
}
