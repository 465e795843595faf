package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	listersdiscoveryv1 "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiff-dev/skiff/internal/agent/cgroups"
	"github.com/skiff-dev/skiff/internal/agent/podip"
)

// Config tunes an Agent. Zero values take the defaults in brackets.
type Config struct {
	// NodeName is the Node this agent registers and runs pods of.
	NodeName string
	// DataDir holds pod state and logs (DataDir/pods) and pod address
	// allocations (DataDir/podip).
	DataDir string
	// ImageAliases maps an image name (with or without its tag) to a host
	// executable, used when a container has no command.
	ImageAliases map[string]string
	// StopPodsOnExit stops every pod when Run returns; by default pods
	// keep running and the next agent adopts them, as with a kubelet.
	StopPodsOnExit bool
	// MaxPods is the node's pods capacity [110].
	MaxPods int
	// PodCIDR is the node's pod range inside 127.0.0.0/8 [the Node's
	// spec.podCIDR if set, else a /24 in 127.64.0.0/10 derived from the
	// node name and data dir; see podip.DefaultPrefix].
	PodCIDR string
	// HostIP is the node's InternalIP [127.0.0.1].
	HostIP string
	// Labels are added to the Node's labels.
	Labels map[string]string
	// HeartbeatInterval is how often the Lease is renewed [10s];
	// LeaseDuration its duration [40s]; StatusInterval how often the Node
	// status is written when nothing changed [1m].
	HeartbeatInterval time.Duration
	LeaseDuration     time.Duration
	StatusInterval    time.Duration
	// PrivateMounts runs each container in a mount namespace of its own
	// where its volumes are bind-mounted at their mountPath (subPath and
	// readOnly applied). Needs root; ignored otherwise. Mount points that
	// do not exist are created (empty) on the host.
	PrivateMounts bool
	// ClusterDNS and ClusterDomain [cluster.local] make the pods'
	// /etc/resolv.conf (the kubelet's clusterDNS and clusterDomain) with
	// PrivateMounts; without ClusterDNS pods keep the host's resolv.conf.
	ClusterDNS    []string
	ClusterDomain string
	// ContainerLogMaxSize and ContainerLogMaxFiles rotate container logs
	// as the kubelet's settings of the same names [10 MiB and 5]; kubectl
	// logs reads the current file only, as with a kubelet.
	ContainerLogMaxSize  int64
	ContainerLogMaxFiles int
	// DisableCgroups runs containers outside control groups even when the
	// agent could make them, so CPU and memory limits are not enforced
	// (see cgroup.go for when they are).
	DisableCgroups bool
	// BackoffBase and BackoffMax time container restarts (CrashLoopBackOff)
	// [10s and 5m, as the kubelet].
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// ServeAddress (HOST:PORT) is where the agent serves its HTTPS
	// endpoint for the API server, the kubelet's port 10250: pods' log,
	// exec and port-forward of this node, which the API server proxies
	// there ["": not served; the agent inside `skiff server` is called
	// in-process instead]. Port 0, or a port already taken, picks a free
	// port; the bound port is published in the Node's
	// status.daemonEndpoints.kubeletEndpoint, to be dialled at the Node's
	// InternalIP (HostIP). See serve.go.
	ServeAddress string
	// ClientCA is the cluster CA (PEM) that signed the API server's
	// client certificate; required with ServeAddress.
	ClientCA []byte
}

func (c *Config) setDefaults() error {
	if c.NodeName == "" {
		return errors.New("agent: node name is required")
	}
	if c.DataDir == "" {
		return errors.New("agent: data dir is required")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("agent: data dir: %w", err)
	}
	c.DataDir = abs
	if c.MaxPods <= 0 {
		c.MaxPods = 110
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = "cluster.local"
	}
	if c.HostIP == "" {
		c.HostIP = "127.0.0.1"
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 10 * time.Second
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 40 * time.Second
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = time.Minute
	}
	if c.ContainerLogMaxSize <= 0 {
		c.ContainerLogMaxSize = 10 << 20
	}
	if c.ContainerLogMaxFiles < 2 {
		// The kubelet refuses fewer than 2; take its default.
		c.ContainerLogMaxFiles = 5
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 10 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.ServeAddress != "" && len(c.ClientCA) == 0 {
		return errors.New("agent: serving needs the cluster CA to check the API server's client certificate")
	}
	return nil
}

// Agent is a node agent: it registers its Node and runs the pods bound to
// it as process groups.
type Agent struct {
	cfg    Config
	client kubernetes.Interface
	log    *slog.Logger

	factory   informers.SharedInformerFactory
	pods      cache.SharedIndexInformer
	podLister listerscorev1.PodLister
	// shared watches objects of every namespace that pods use: services
	// (for their environment variables), configMaps and secrets (for
	// volumes, refreshed when they change).
	shared     informers.SharedInformerFactory
	services   cache.SharedIndexInformer
	svcLister  listerscorev1.ServiceLister
	configMaps cache.SharedIndexInformer
	cmLister   listerscorev1.ConfigMapLister
	secrets    cache.SharedIndexInformer
	secLister  listerscorev1.SecretLister
	// slices tell when a terminating pod has left its services' endpoints
	// (see drain.go).
	slices      cache.SharedIndexInformer
	sliceLister listersdiscoveryv1.EndpointSliceLister
	events      record.EventBroadcaster
	recorder    record.EventRecorder
	// server is the HTTPS endpoint (nil: not served), set by Run before
	// the Node is registered.
	server *server

	// set once by Run before any worker starts
	cgroups    *cgroups.Manager // nil: limits are not enforced
	ips        *podip.Allocator
	allocated  corev1.ResourceList
	workerCtx  context.Context
	workersWG  sync.WaitGroup
	runStarted bool

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	// leftover holds states of an earlier agent whose pods have no
	// worker yet.
	leftover map[types.UID]*podState
}

// New builds an agent; Run starts it.
func New(cfg Config, client kubernetes.Interface, logger *slog.Logger) (*Agent, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{
		cfg:     cfg,
		client:  client,
		log:     logger,
		workers: map[types.UID]*podWorker{},
	}
	a.factory = informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName).String()
		}))
	a.pods = a.factory.Core().V1().Pods().Informer()
	a.podLister = a.factory.Core().V1().Pods().Lister()
	a.shared = informers.NewSharedInformerFactory(client, 0)
	a.services = a.shared.Core().V1().Services().Informer()
	a.svcLister = a.shared.Core().V1().Services().Lister()
	a.configMaps = a.shared.Core().V1().ConfigMaps().Informer()
	a.cmLister = a.shared.Core().V1().ConfigMaps().Lister()
	a.secrets = a.shared.Core().V1().Secrets().Informer()
	a.secLister = a.shared.Core().V1().Secrets().Lister()
	a.slices = a.shared.Discovery().V1().EndpointSlices().Informer()
	a.sliceLister = a.shared.Discovery().V1().EndpointSlices().Lister()
	a.events = record.NewBroadcaster()
	a.recorder = a.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: cfg.NodeName})
	return a, nil
}

// Run registers the node, runs pods until ctx ends and returns after
// every goroutine has ended. Pods keep running unless StopPodsOnExit.
func (a *Agent) Run(ctx context.Context) error {
	a.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.client.CoreV1().Events("")})
	defer a.events.Shutdown()

	// Bind first: the Node publishes the port and the certificate's pin.
	srv, err := a.listen()
	if err != nil {
		return err
	}
	a.server = srv
	if srv != nil {
		srvCtx, stopServing := context.WithCancel(ctx)
		var serving sync.WaitGroup
		defer serving.Wait()
		defer stopServing()
		serving.Go(func() { srv.serve(srvCtx, a.log) })
		a.log.Info("agent serving", "address", srv.ln.Addr().String(), "sha256", srv.fingerprint)
	}

	node, err := a.register(ctx)
	if err != nil {
		return err
	}
	prefix, err := netip.ParsePrefix(node.Spec.PodCIDR)
	if err != nil {
		return fmt.Errorf("node pod cidr: %w", err)
	}
	a.setupCgroups()
	a.ips, err = podip.New(prefix, filepath.Join(a.cfg.DataDir, "podip"))
	if err != nil {
		return err
	}
	a.allocated = node.Status.Allocatable
	states, err := a.loadStates()
	if err != nil {
		return err
	}

	a.mu.Lock()
	a.leftover = states
	a.workerCtx = ctx
	a.runStarted = true
	a.mu.Unlock()

	if _, err := a.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.podChanged(obj) },
		UpdateFunc: func(_, obj any) { a.podChanged(obj) },
		DeleteFunc: func(obj any) { a.podDeleted(obj) },
	}); err != nil {
		return fmt.Errorf("pod handler: %w", err)
	}
	for _, inf := range []cache.SharedIndexInformer{a.configMaps, a.secrets} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { a.volumeSourceChanged(obj) },
			UpdateFunc: func(_, obj any) { a.volumeSourceChanged(obj) },
			DeleteFunc: func(obj any) { a.volumeSourceChanged(obj) },
		}); err != nil {
			return fmt.Errorf("volume source handler: %w", err)
		}
	}
	a.shared.Start(ctx.Done())
	defer a.shared.Shutdown()
	a.factory.Start(ctx.Done())
	defer a.factory.Shutdown()

	var wg sync.WaitGroup
	wg.Go(func() { a.heartbeat(ctx, node) })
	if cache.WaitForCacheSync(ctx.Done(), a.pods.HasSynced) {
		a.cleanupLeftovers()
	}
	<-ctx.Done()
	wg.Wait()
	a.workersWG.Wait()
	return nil
}

func (a *Agent) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName != a.cfg.NodeName {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.workers[pod.UID]
	if w == nil {
		if a.workerCtx == nil || a.workerCtx.Err() != nil {
			return
		}
		st := a.leftover[pod.UID]
		delete(a.leftover, pod.UID)
		w = newPodWorker(a, pod, st)
		a.workers[pod.UID] = w
		a.workersWG.Go(func() {
			w.run(a.workerCtx)
			a.mu.Lock()
			if a.workers[pod.UID] == w {
				delete(a.workers, pod.UID)
			}
			a.mu.Unlock()
		})
	}
	w.update(pod)
}

func (a *Agent) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	a.mu.Lock()
	w := a.workers[pod.UID]
	a.mu.Unlock()
	if w != nil {
		w.markGone()
	}
}

// cleanupLeftovers stops pods an earlier agent ran that no longer exist.
func (a *Agent) cleanupLeftovers() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for uid, st := range a.leftover {
		if _, err := a.podLister.Pods(st.Namespace).Get(st.Name); err == nil {
			if p, _ := a.podLister.Pods(st.Namespace).Get(st.Name); p != nil && p.UID == uid {
				continue
			}
		}
		delete(a.leftover, uid)
		gone := &corev1.Pod{}
		gone.Namespace, gone.Name, gone.UID = st.Namespace, st.Name, uid
		w := newPodWorker(a, gone, st)
		w.gone = true
		a.workers[uid] = w
		a.workersWG.Go(func() {
			w.run(a.workerCtx)
			a.mu.Lock()
			if a.workers[uid] == w {
				delete(a.workers, uid)
			}
			a.mu.Unlock()
		})
	}
}

// worker returns the worker of a pod, if any.
func (a *Agent) worker(uid types.UID) *podWorker {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.workers[uid]
}
