package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/internal/agent"
	"github.com/skiff-dev/skiff/internal/gctune"
)

// runAgent joins this machine to a skiff server as a node: `skiff agent
// --server URL --token TOKEN --ca-file CA`.
func runAgent(args []string) error {
	fs := flag.NewFlagSet("skiff agent", flag.ContinueOnError)
	server := fs.String("server", "", "URL of the skiff server's API (https://HOST:PORT)")
	token := fs.String("token", "", "node join token (the server's DATA/token), or @FILE to read it from FILE")
	caFile := fs.String("ca-file", "", "the server's CA certificate (the server's DATA/pki/ca.crt)")
	dataDir := fs.String("data-dir", filepath.Join(defaultDataDir(), "agent"), "directory for pod state and logs")
	nodeName := fs.String("node-name", "", "name of this node (default: the hostname)")
	stopPods := fs.Bool("stop-pods-on-exit", false, "stop every pod of this node when the agent exits (default: pods keep running)")
	listen := fs.String("listen-address", "127.0.0.1:10250", "HOST:PORT of the agent's HTTPS endpoint, which the server calls for logs, exec and port-forward of this node's pods (the kubelet's port); port 0 (or a taken port) picks a free one, published on the Node; \"\" turns it off. Use 0.0.0.0:10250 or this machine's address when the server runs elsewhere")
	nodeIP := fs.String("node-ip", "", "the node's InternalIP, where the server reaches this agent (default: the --listen-address host when it is a specific address, else 127.0.0.1)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	aliases := imageAliases{}
	fs.Var(aliases, "image-alias", "NAME=PATH: run PATH for containers of image NAME that have no command (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("agent: unexpected arguments %q", fs.Args())
	}
	if *server == "" || *token == "" || *caFile == "" {
		return errors.New("agent: --server, --token and --ca-file are required (the token and CA are in the server's data dir: token and pki/ca.crt)")
	}
	tok := *token
	if path, ok := strings.CutPrefix(tok, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("agent: --token: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	ca, err := os.ReadFile(*caFile)
	if err != nil {
		return fmt.Errorf("agent: --ca-file: %w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	name := *nodeName
	if name == "" {
		if name, err = os.Hostname(); err != nil {
			return fmt.Errorf("node name: %w", err)
		}
	}
	cfg := &rest.Config{Host: *server, BearerToken: tok, TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		UserAgent: "skiff-agent/" + name, QPS: -1, Burst: -1}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("agent: client: %w", err)
	}
	hostIP, guessed, err := agentNodeIP(*nodeIP, *listen)
	if err != nil {
		return err
	}
	if guessed && *listen != "" {
		log.Warn("the server reaches this agent at 127.0.0.1 only (same machine); set --node-ip when the server runs elsewhere", "listen-address", *listen)
	}
	a, err := agent.New(agent.Config{
		NodeName: name, DataDir: *dataDir, ImageAliases: aliases, StopPodsOnExit: *stopPods,
		ServeAddress: *listen, ClientCA: ca, HostIP: hostIP,
	}, client, log.With("component", "agent", "node", name))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("skiff agent joining", "server", *server, "node", name)
	go gctune.Run(ctx, gctune.Config{})
	return a.Run(ctx)
}

// agentNodeIP is the node's InternalIP: --node-ip, else the host of
// --listen-address when it names one address, else 127.0.0.1 (guessed:
// the server reaches the agent only from the same machine).
func agentNodeIP(nodeIP, listen string) (ip string, guessed bool, err error) {
	if nodeIP != "" {
		ip := net.ParseIP(nodeIP)
		if ip == nil {
			return "", false, fmt.Errorf("agent: --node-ip %q is not an IP address", nodeIP)
		}
		if ip.IsUnspecified() {
			return "", false, fmt.Errorf("agent: --node-ip %s: the server cannot dial an unspecified address", nodeIP)
		}
		return ip.String(), false, nil
	}
	if listen == "" {
		return "127.0.0.1", true, nil
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return "", false, fmt.Errorf("agent: --listen-address %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		return ip.String(), false, nil
	}
	return "127.0.0.1", true, nil
}
