// Package testserver starts a real skiff control plane (embedded etcd, API
// server over TLS on 127.0.0.1:0) inside a test, for tests of controllers,
// clients and the API itself. Test-only: it imports testing.
package testserver

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/internal/controlplane"
)

// Server is a running control plane.
type Server struct {
	DataDir    string
	URL        string
	Kubeconfig string
	// Config is an admin client config with client-side rate limits off.
	Config *rest.Config
	Client kubernetes.Interface
}

// Options tune Start.
type Options struct {
	// Controllers lists the controllers to run (nil: none, so that a test
	// can run the one it tests itself; see controlplane.Config).
	Controllers []string
	// Logger for the server (nil: discarded unless SKIFF_TEST_LOG=1).
	Logger *slog.Logger
}

// Start runs a control plane for the test and stops it on cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	dir := t.TempDir()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		if os.Getenv("SKIFF_TEST_LOG") == "1" {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	cp, err := controlplane.New(controlplane.Config{
		DataDir: dir, BindAddress: "127.0.0.1", Port: 0, NodeName: "test-node",
		Logger: log, Controllers: opts.Controllers, ControllersSet: true,
	})
	if err != nil {
		t.Fatalf("control plane: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("control plane stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("control plane did not stop within 30s")
		}
	})
	select {
	case <-cp.Ready():
	case err := <-done:
		t.Fatalf("control plane failed to start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatalf("control plane not ready after 60s")
	}
	kc := controlplane.KubeconfigPath(dir)
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = -1, -1
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return &Server{DataDir: dir, URL: cp.URL(), Kubeconfig: kc, Config: cfg, Client: cs}
}
