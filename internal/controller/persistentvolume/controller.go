package persistentvolume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	coreinformers "k8s.io/client-go/informers/core/v1"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// Options configure a Controller.
type Options struct {
	// VolumesDir is the directory under which provisioned volumes live,
	// one directory per PersistentVolume (required; skiff passes
	// <data dir>/volumes).
	VolumesDir string
	// NodeName is the node whose disk holds VolumesDir. Provisioned
	// volumes get node affinity to it (empty: no node affinity).
	NodeName string
	// Recorder records events (nil: a broadcaster writing core/v1 Events
	// through the client, started by Run).
	Recorder record.EventRecorder
}

// item is a work queue key: a claim ("ns/name") or a volume ("name").
// Claims and volumes have separate sync functions, as upstream's
// syncClaim and syncVolume, but share one queue so that the queue's
// one-worker-per-key rule covers both.
type item struct {
	volume bool
	key    string
}

// Controller binds claims to volumes, provisions local-path volumes and
// reclaims released ones.
type Controller struct {
	client      kubernetes.Interface
	log         *slog.Logger
	volumesDir  string
	nodeName    string
	claimLister corelisters.PersistentVolumeClaimLister
	volLister   corelisters.PersistentVolumeLister
	classLister storagelisters.StorageClassLister
	podLister   corelisters.PodLister
	synced      []cache.InformerSynced
	queue       workqueue.TypedRateLimitingInterface[item]

	// recorder is set before the workers start (Run) and then only read.
	recorder record.EventRecorder
}

// New builds the controller over the given informers (started by the
// caller, e.g. by a shared informer factory).
// Pods are watched for claims of WaitForFirstConsumer classes only.
func New(client kubernetes.Interface, claimInformer coreinformers.PersistentVolumeClaimInformer, volInformer coreinformers.PersistentVolumeInformer, classInformer storageinformers.StorageClassInformer, podInformer coreinformers.PodInformer, logger *slog.Logger, opts Options) (*Controller, error) {
	if client == nil || claimInformer == nil || volInformer == nil || classInformer == nil || podInformer == nil {
		return nil, errors.New("persistentvolume: client and informers are required")
	}
	if opts.VolumesDir == "" {
		return nil, errors.New("persistentvolume: a volumes directory is required")
	}
	dir, err := filepath.Abs(opts.VolumesDir)
	if err != nil {
		return nil, fmt.Errorf("persistentvolume: volumes directory: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Controller{
		client:      client,
		log:         logger,
		volumesDir:  dir,
		nodeName:    opts.NodeName,
		claimLister: claimInformer.Lister(),
		volLister:   volInformer.Lister(),
		classLister: classInformer.Lister(),
		podLister:   podInformer.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[item](),
			workqueue.TypedRateLimitingQueueConfig[item]{Name: "persistentvolume"}),
		recorder: opts.Recorder,
	}
	claimReg, err := claimInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.claimEvent,
		UpdateFunc: func(_, cur any) { c.claimEvent(cur) },
		DeleteFunc: c.claimEvent,
	})
	if err != nil {
		return nil, fmt.Errorf("claim informer: %w", err)
	}
	volReg, err := volInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.volumeEvent,
		UpdateFunc: func(_, cur any) { c.volumeEvent(cur) },
		DeleteFunc: c.volumeEvent,
	})
	if err != nil {
		return nil, fmt.Errorf("volume informer: %w", err)
	}
	classReg, err := classInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		// A new or changed class may let pending claims be defaulted,
		// provisioned or bound.
		AddFunc:    func(any) { c.enqueuePendingClaims() },
		UpdateFunc: func(_, _ any) { c.enqueuePendingClaims() },
	})
	if err != nil {
		return nil, fmt.Errorf("storage class informer: %w", err)
	}
	podReg, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podEvent,
		UpdateFunc: func(_, cur any) { c.podEvent(cur) },
	})
	if err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	c.synced = []cache.InformerSynced{claimReg.HasSynced, volReg.HasSynced, classReg.HasSynced, podReg.HasSynced}
	return c, nil
}

// Run creates the default StorageClass if missing, waits for the caches,
// runs workers until ctx ends and returns after every goroutine it
// started has ended.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer c.queue.ShutDown()
	if c.recorder == nil {
		b := record.NewBroadcaster(record.WithContext(ctx))
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
		defer b.Shutdown()
		c.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "persistentvolume-controller"})
	}
	c.log.Info("starting", "volumesDir", c.volumesDir)
	if err := c.ensureDefaultClass(ctx); err != nil {
		// Not fatal: claims of user classes still work; the class is
		// tried again at the next start.
		c.log.Error("default storage class", "err", err)
	}
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil // ctx ended first
	}
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	c.log.Info("stopped")
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	it, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(it)
	var err error
	if it.volume {
		err = c.syncVolume(ctx, it.key)
	} else {
		err = c.syncClaim(ctx, it.key)
	}
	if err != nil {
		// Level-based: retry with backoff; the state is read afresh
		// each time.
		if ctx.Err() == nil {
			c.log.Debug("sync failed, requeued", "volume", it.volume, "key", it.key, "err", err)
		}
		c.queue.AddRateLimited(it)
		return true
	}
	c.queue.Forget(it)
	return true
}

func (c *Controller) enqueueClaim(ns, name string) {
	c.queue.Add(item{key: ns + "/" + name})
}

func (c *Controller) enqueueVolume(name string) {
	c.queue.Add(item{volume: true, key: name})
}

// enqueuePendingClaims queues every claim not yet bound: a volume became
// available or a class changed.
func (c *Controller) enqueuePendingClaims() {
	claims, err := c.claimLister.List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	for _, claim := range claims {
		if claim.Status.Phase != corev1.ClaimBound {
			c.enqueueClaim(claim.Namespace, claim.Name)
		}
	}
}

func (c *Controller) claimEvent(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	claim, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return
	}
	c.enqueueClaim(claim.Namespace, claim.Name)
	// The volume side decides about release when its claim goes away.
	if claim.Spec.VolumeName != "" {
		c.enqueueVolume(claim.Spec.VolumeName)
	}
}

func (c *Controller) volumeEvent(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	vol, ok := obj.(*corev1.PersistentVolume)
	if !ok {
		return
	}
	c.enqueueVolume(vol.Name)
	if ref := vol.Spec.ClaimRef; ref != nil {
		c.enqueueClaim(ref.Namespace, ref.Name)
	}
	if vol.Status.Phase == corev1.VolumeAvailable {
		c.enqueuePendingClaims()
	}
}

// podEvent queues the claims of a pod placed on a node: a claim of a
// WaitForFirstConsumer class waits for that.
func (c *Controller) podEvent(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return
	}
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			c.enqueueClaim(pod.Namespace, v.PersistentVolumeClaim.ClaimName)
		}
	}
}

// claimClass returns the storage class of a claim's spec ("" when unset), as
// upstream's storagehelpers.GetPersistentVolumeClaimClass does (without
// the long-gone beta annotation).
func claimClass(claim *corev1.PersistentVolumeClaim) string {
	if claim.Spec.StorageClassName != nil {
		return *claim.Spec.StorageClassName
	}
	return ""
}

// classOf returns the named class from the cache, nil when absent.
func (c *Controller) classOf(name string) *storagev1.StorageClass {
	if name == "" {
		return nil
	}
	class, err := c.classLister.Get(name)
	if err != nil {
		return nil
	}
	return class
}
