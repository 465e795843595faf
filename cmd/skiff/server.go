package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/skiff-dev/skiff/internal/controlplane"
	"github.com/skiff-dev/skiff/internal/gctune"
	_ "github.com/skiff-dev/skiff/internal/kubectlinit" // before kubectl's packages: see its doc
	"github.com/skiff-dev/skiff/internal/memtrim"
	"github.com/skiff-dev/skiff/internal/registry"
)

// defaultDataDir is /var/lib/skiff for root, else $XDG_DATA_HOME/skiff or
// ~/.local/share/skiff (DESIGN.md).
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/skiff"
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "skiff")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "skiff")
	}
	return ".skiff"
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("skiff server", flag.ContinueOnError)
	dataDir := fs.String("data-dir", defaultDataDir(), "directory for etcd data, credentials, kubeconfig and logs")
	bind := fs.String("bind-address", "127.0.0.1", "address the API server listens on")
	port := fs.Int("port", 6443, "API server port (0 picks a free one and writes it into the kubeconfig)")
	etcdServers := fs.String("etcd-servers", "", "comma-separated etcd client URLs to use instead of the embedded etcd")
	nodeName := fs.String("node-name", "", "name of this node (default: the hostname)")
	disableAgent := fs.Bool("disable-agent", false, "run the control plane only, without the local node agent")
	stopPods := fs.Bool("stop-pods-on-exit", false, "stop every pod of the local node when the server exits (default: pods keep running)")
	defaultDNSPort := 10053 // unprivileged: pods query it explicitly
	if os.Geteuid() == 0 {
		defaultDNSPort = 53
	}
	dnsPort := fs.Int("cluster-dns-port", defaultDNSPort, "port of the cluster DNS on the kube-dns Service address (0 disables cluster DNS)")
	controllers := fs.String("controllers", "*", `controllers to run: "*" for all, "name" to add one, "-name" to remove one (comma-separated, as kube-controller-manager's --controllers); the node agent and DNS count as controllers "agent" and "dns"`)
	aliases := imageAliases{}
	fs.Var(aliases, "image-alias", "NAME=PATH: run PATH for containers of image NAME that have no command (repeatable)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	serviceCIDR := fs.String("service-cidr", registry.DefaultServiceCIDR.String(), "CIDR that ClusterIPs are allocated from (on loopback by default, so virtual IPs never leave the machine)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("server: unexpected arguments %q", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cidr, err := netip.ParsePrefix(*serviceCIDR)
	if err != nil {
		return fmt.Errorf("--service-cidr: %w", err)
	}
	selected, err := controlplane.SelectControllers(strings.Split(*controllers, ","))
	if err != nil {
		return fmt.Errorf("--controllers: %w", err)
	}
	var servers []string
	for _, s := range strings.Split(*etcdServers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			servers = append(servers, s)
		}
	}
	cp, err := controlplane.New(controlplane.Config{
		DataDir: *dataDir, BindAddress: *bind, Port: *port,
		EtcdServers: servers, NodeName: *nodeName, Logger: log, ServiceCIDR: cidr,
		DisableAgent: *disableAgent, StopPodsOnExit: *stopPods, ImageAliases: aliases, DNSPort: *dnsPort,
		Controllers: selected, ControllersSet: true,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go trimAfterStart(ctx, cp.Ready(), log)
	go gctune.Run(ctx, gctune.Config{})
	return cp.Run(ctx)
}

// trimAfterStart gives back start-up memory (see package memtrim) once
// the server is ready and its controllers have had time to sync.
func trimAfterStart(ctx context.Context, ready <-chan struct{}, log *slog.Logger) {
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}
	select {
	case <-time.After(3 * time.Second):
	case <-ctx.Done():
		return
	}
	if err := memtrim.Trim(); err != nil {
		log.Debug("trim start-up memory", "err", err)
	}
}

// imageAliases is the repeatable --image-alias NAME=PATH flag.
type imageAliases map[string]string

func (a imageAliases) String() string { return fmt.Sprint(map[string]string(a)) }

func (a imageAliases) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=PATH, got %q", v)
	}
	a[name] = path
	return nil
}
