package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// controllerContext is what every controller gets: clients of the API
// (controllers talk to the API only through client-go, as the controller
// manager does) and one shared informer factory.
type controllerContext struct {
	Config    *rest.Config
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Log       *slog.Logger

	// For the node agent and cluster DNS, which run beside the controllers.
	NodeName       string
	DataDir        string
	ImageAliases   map[string]string
	StopPodsOnExit bool
	DNSAddr        string
	// SetPodSubresources hands the API server the local node agent's
	// handler of pods/log, exec, attach and portforward, for the pods of
	// NodeName (pods of other nodes are proxied to their agents).
	SetPodSubresources func(http.Handler)
}

// starter builds a controller and returns the function that runs it until
// ctx ends. Informers it asks the factory for are started after every
// starter has run.
type starter func(ctx context.Context, cc *controllerContext) (run func(ctx context.Context) error, err error)

// controllerStarters lists every controller by name. One file
// start_<name>.go per controller holds its starter.
func controllerStarters() map[string]starter {
	return map[string]starter{
		"garbagecollector":       startGarbageCollector,
		"namespace":              startNamespace,
		"replicaset":             startReplicaSet,
		"deployment":             startDeployment,
		"scheduler":              startScheduler,
		"endpoints":              startEndpoints,
		"endpointslice":          startEndpointSlice,
		"endpointslicemirroring": startEndpointSliceMirroring,
		"dns":                    startDNS,
		"agent":                  startAgent,
		"proxy":                  startProxy,
		"daemonset":              startDaemonSet,
		"statefulset":            startStatefulSet,
		"persistentvolume":       startPersistentVolume,
	}
}

// runControllers starts the enabled controllers and returns a function
// that waits for them to end (after ctx is cancelled).
func (c *ControlPlane) runControllers(ctx context.Context, cfg *rest.Config) (wait func(), err error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, -1
	cfg.UserAgent = "skiff-controller-manager"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cc := &controllerContext{
		Config:    cfg,
		Client:    client,
		Informers: informers.NewSharedInformerFactory(client, 10*time.Hour),
		Log:       c.log,

		NodeName:       c.cfg.NodeName,
		DataDir:        c.cfg.DataDir,
		ImageAliases:   c.cfg.ImageAliases,
		StopPodsOnExit: c.cfg.StopPodsOnExit,
		DNSAddr:        c.dnsAddr,

		SetPodSubresources: c.pods.local.set,
	}
	var runs []func(ctx context.Context) error
	var names []string
	for name, start := range controllerStarters() {
		if c.cfg.ControllersSet && !slices.Contains(c.cfg.Controllers, name) {
			continue
		}
		// The agent and the service proxy belong to the node.
		if (name == "agent" || name == "proxy") && c.cfg.DisableAgent || name == "dns" && c.dnsAddr == "" {
			continue
		}
		own := *cc
		own.Log = c.log.With("component", name)
		run, err := start(ctx, &own)
		if err != nil {
			return nil, fmt.Errorf("controller %s: %w", name, err)
		}
		runs = append(runs, run)
		names = append(names, name)
	}
	cc.Informers.Start(ctx.Done())
	var wg sync.WaitGroup
	for i, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				c.log.Error("controller stopped", "controller", names[i], "err", err)
			}
		}()
	}
	return func() {
		wg.Wait()
		cc.Informers.Shutdown()
	}, nil
}

// SelectControllers resolves a --controllers list as kube-controller-manager
// does: "*" is every controller, "name" adds one, "-name" removes one.
// It returns the names to run, sorted.
func SelectControllers(spec []string) ([]string, error) {
	all := controllerStarters()
	on := map[string]bool{}
	for _, item := range spec {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case item == "*":
			for name := range all {
				on[name] = true
			}
		case strings.HasPrefix(item, "-"):
			if _, ok := all[item[1:]]; !ok {
				return nil, fmt.Errorf("unknown controller %q", item[1:])
			}
			delete(on, item[1:])
		default:
			if _, ok := all[item]; !ok {
				return nil, fmt.Errorf("unknown controller %q", item)
			}
			on[item] = true
		}
	}
	names := make([]string, 0, len(on))
	for name := range on {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}
