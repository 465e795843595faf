package persistentvolume_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	. "github.com/skiff-dev/skiff/internal/controller/persistentvolume"
	"github.com/skiff-dev/skiff/internal/testserver"
)

const node = "test-node"

func testLogger() *slog.Logger {
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type env struct {
	// t is the running (sub)test; root the test that owns the server and
	// controllers (their cleanups).
	t, root    *testing.T
	ctx        context.Context
	client     kubernetes.Interface
	volumesDir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &env{t: t, root: t, ctx: ctx, client: srv.Client, volumesDir: filepath.Join(t.TempDir(), "volumes")}
}

// run starts a controller with its own informers; the returned function
// stops it and waits for it to end (also done at cleanup).
func (e *env) run() (stop func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	f := informers.NewSharedInformerFactory(e.client, 0)
	c, err := New(e.client, f.Core().V1().PersistentVolumeClaims(), f.Core().V1().PersistentVolumes(), f.Storage().V1().StorageClasses(), f.Core().V1().Pods(), testLogger(),
		Options{VolumesDir: e.volumesDir, NodeName: node})
	if err != nil {
		e.t.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 2) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
		f.Shutdown()
	}
	e.root.Cleanup(stop)
	return stop
}

func (e *env) eventually(what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("timed out waiting for %s: %s", what, last)
}

func (e *env) createClaim(name string, class *string, size string, mods ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	e.t.Helper()
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	for _, m := range mods {
		m(claim)
	}
	claim, err := e.client.CoreV1().PersistentVolumeClaims("default").Create(e.ctx, claim, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create claim %s: %v", name, err)
	}
	return claim
}

// bound waits for claim and its volume to be bound to each other and
// returns both.
func (e *env) bound(name string) (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume) {
	e.t.Helper()
	var claim *corev1.PersistentVolumeClaim
	var vol *corev1.PersistentVolume
	e.eventually("claim "+name+" and its volume bound", func() (bool, string) {
		var err error
		claim, err = e.client.CoreV1().PersistentVolumeClaims("default").Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if claim.Status.Phase != corev1.ClaimBound || claim.Spec.VolumeName == "" {
			return false, "claim phase " + string(claim.Status.Phase) + ", volumeName " + claim.Spec.VolumeName
		}
		vol, err = e.client.CoreV1().PersistentVolumes().Get(e.ctx, claim.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return vol.Status.Phase == corev1.VolumeBound, "volume phase " + string(vol.Status.Phase)
	})
	return claim, vol
}

func (e *env) volumeGone(name string) {
	e.t.Helper()
	e.eventually("volume "+name+" deleted", func() (bool, string) {
		_, err := e.client.CoreV1().PersistentVolumes().Get(e.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		return false, "volume still there"
	})
}

func (e *env) volumePhase(name string, phase corev1.PersistentVolumePhase) *corev1.PersistentVolume {
	e.t.Helper()
	var vol *corev1.PersistentVolume
	e.eventually("volume "+name+" "+string(phase), func() (bool, string) {
		var err error
		vol, err = e.client.CoreV1().PersistentVolumes().Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return vol.Status.Phase == phase, "phase " + string(vol.Status.Phase)
	})
	return vol
}

func (e *env) deleteClaim(name string) {
	e.t.Helper()
	if err := e.client.CoreV1().PersistentVolumeClaims("default").Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
		e.t.Fatalf("delete claim %s: %v", name, err)
	}
}

func (e *env) createClass(name string, reclaim corev1.PersistentVolumeReclaimPolicy) {
	e.t.Helper()
	class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: Provisioner, ReclaimPolicy: &reclaim}
	if _, err := e.client.StorageV1().StorageClasses().Create(e.ctx, class, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create class %s: %v", name, err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

func ptr[T any](v T) *T { return &v }
