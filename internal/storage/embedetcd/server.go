package embedetcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config says where and how to run the embedded etcd.
type Config struct {
	// Dir holds everything: etcd's member directory, the client socket and
	// the lock file. Created if missing.
	Dir string
	// Logger receives etcd's own log records (nil: discarded).
	Logger *slog.Logger
	// LogLevel is the lowest etcd record level passed to Logger; nil means
	// errors only, as etcd is chatty at info.
	LogLevel slog.Leveler
	// CompactionRetention is how much history etcd keeps before compacting
	// it automatically (periodic mode). Zero means 5 minutes, the interval
	// kube-apiserver compacts at; negative disables auto compaction.
	CompactionRetention time.Duration
	// StartTimeout bounds the wait for the member to become leader and
	// serve; zero means 30 seconds (a restart replays the WAL).
	StartTimeout time.Duration
}

// Server is a running embedded etcd member.
type Server struct {
	etcd      *embed.Etcd
	client    *clientv3.Client
	endpoints []string
	lock      *os.File
	log       *zap.Logger
	closing   *atomic.Bool // demotes etcd's shutdown errors; see slogCore

	closeOnce sync.Once
}

// maxUnixPath is the longest unix socket path we try: sun_path is 108 bytes
// on Linux (104 on BSDs) including the terminating NUL.
const maxUnixPath = 100

// Start runs an etcd member with its data under cfg.Dir and returns once it
// serves requests and a client is connected to it.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedetcd: empty data directory")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedetcd: create data dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: %w", err)
	}
	s, err := start(ctx, dir, cfg)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func start(ctx context.Context, dir string, cfg Config) (*Server, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	zlevel := zapcore.ErrorLevel
	if cfg.LogLevel != nil {
		switch l := cfg.LogLevel.Level(); {
		case l < slog.LevelInfo:
			zlevel = zapcore.DebugLevel
		case l < slog.LevelWarn:
			zlevel = zapcore.InfoLevel
		case l < slog.LevelError:
			zlevel = zapcore.WarnLevel
		}
	}
	closing := new(atomic.Bool)
	zlog := newZapLogger(logger.With("component", "etcd"), zlevel, closing)

	ec := embed.NewConfig()
	ec.Name = "skiff"
	ec.Dir = filepath.Join(dir, "member-data")
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zlog)
	ec.LogLevel = zlevel.String()

	clientURL, err := clientListenURL(dir)
	if err != nil {
		return nil, err
	}
	ec.ListenClientUrls = []url.URL{clientURL}
	ec.AdvertiseClientUrls = []url.URL{clientURL}
	// A single member never dials its peer URL, but etcd insists on one:
	// an ephemeral loopback port cannot collide with anyone.
	peerURL := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	ec.ListenPeerUrls = []url.URL{peerURL}
	ec.AdvertisePeerUrls = []url.URL{peerURL}
	ec.InitialCluster = ec.Name + "=" + peerURL.String()

	// Fast start: a single member elects itself one tick after start
	// (InitialElectionTickAdvance), so a short tick is most of the wait.
	ec.TickMs = 10
	ec.ElectionMs = 100
	ec.EnableGRPCGateway = false
	ec.Metrics = "basic"
	ec.ListenMetricsUrls = nil
	// Snapshots bound the WAL replayed at restart.
	ec.SnapshotCount = 10000
	ec.QuotaBackendBytes = 8 << 30
	ec.MaxRequestBytes = 3 << 20 // kube-apiserver's object limit plus headroom
	// Progress notifications back watch bookmarks in the storage layer.
	ec.WatchProgressNotifyInterval = 5 * time.Second

	retention := cfg.CompactionRetention
	if retention == 0 {
		retention = 5 * time.Minute
	}
	if retention > 0 {
		ec.AutoCompactionMode = embed.CompactorModePeriodic
		ec.AutoCompactionRetention = retention.String()
	}

	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: start: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedetcd: start: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("embedetcd: start: %w", ctx.Err())
	case <-timer.C:
		e.Close()
		return nil, fmt.Errorf("embedetcd: not ready after %s", timeout)
	}

	endpoints := []string{clientURL.String()}
	// The client talks to the member in process (no socket, no gRPC
	// framing): a write costs only etcd's own work. Other processes (etcdctl)
	// still reach the member on its socket.
	cli := v3client.New(e.Server)
	return &Server{etcd: e, client: cli, endpoints: endpoints, log: zlog, closing: closing}, nil
}

// clientListenURL is a unix socket inside dir when its path fits in
// sun_path, else a loopback port that is free now (a tiny race with other
// programs remains, never with another skiff using a unix socket).
func clientListenURL(dir string) (url.URL, error) {
	sock := filepath.Join(dir, "etcd.sock")
	if len(sock) <= maxUnixPath {
		return url.URL{Scheme: "unix", Path: sock}, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, fmt.Errorf("embedetcd: pick client port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, nil
}

// Client is a client connected to the server. It is owned by the Server
// and closed by Close; callers must not close it.
func (s *Server) Client() *clientv3.Client { return s.client }

// Endpoints are the client URLs ("unix:///…/etcd.sock" or
// "http://127.0.0.1:port") for callers that build their own client.
func (s *Server) Endpoints() []string { return s.endpoints }

// Err reports a fatal server error; nothing is sent while it runs well.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops the client and the server and releases the data directory.
// It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		err = s.client.Close()
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		s.etcd.Close()
		<-s.etcd.Server.StopNotify()
		s.lock.Close()
	})
	return err
}
