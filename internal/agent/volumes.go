package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/internal/agent/runtime"
	"github.com/skiff-dev/skiff/internal/agent/volume"
)

// volumeEnvPrefix names the variables that tell a container where its
// volumes are: SKIFF_VOLUME_<VOLUME>=<host path>.
const volumeEnvPrefix = "SKIFF_VOLUME_"

// volumeSourceChanged marks the volumes of every pod in the object's
// namespace for a refresh, so that a ConfigMap or Secret update reaches
// the files (and a missing one that appears lets the pod start).
func (a *Agent) volumeSourceChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	var kind, ns, name string
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		kind, ns, name = "ConfigMap", o.Namespace, o.Name
	case *corev1.Secret:
		kind, ns, name = "Secret", o.Namespace, o.Name
	default:
		return
	}
	a.mu.Lock()
	var ws []*podWorker
	for _, w := range a.workers {
		ws = append(ws, w)
	}
	a.mu.Unlock()
	for _, w := range ws {
		w.pmu.Lock()
		match := w.pod != nil && w.pod.Namespace == ns && volumesUse(w.pod, kind, name)
		if match {
			w.volDirty = true
		}
		w.pmu.Unlock()
		if match {
			w.poke()
		}
	}
}

// volumesUse reports whether a volume of pod is made from the ConfigMap
// or Secret name.
func volumesUse(pod *corev1.Pod, kind, name string) bool {
	for i := range pod.Spec.Volumes {
		s := &pod.Spec.Volumes[i].VolumeSource
		switch {
		case s.ConfigMap != nil:
			if kind == "ConfigMap" && s.ConfigMap.Name == name {
				return true
			}
		case s.Secret != nil:
			if kind == "Secret" && s.Secret.SecretName == name {
				return true
			}
		case s.Projected != nil:
			for _, ps := range s.Projected.Sources {
				if (kind == "ConfigMap" && ps.ConfigMap != nil && ps.ConfigMap.Name == name) ||
					(kind == "Secret" && ps.Secret != nil && ps.Secret.Name == name) {
					return true
				}
			}
		}
	}
	return false
}

// volumesDir is DATA/pods/<pod>/volumes; container directories cannot
// clash with it since their files are named <n>.log and <n>.pipe and
// volume names cannot hold a dot.
func (a *Agent) volumesDir(st *podState) string {
	return filepath.Join(a.podDir(st.Namespace, st.Name, st.UID), "volumes")
}

// ensureVolumes makes or refreshes the pod's volumes when they may have
// changed (first pass, pod update, ConfigMap or Secret change). It fails
// only while the volumes were never all set up.
func (w *podWorker) ensureVolumes(ctx context.Context, pod *corev1.Pod) error {
	w.pmu.Lock()
	dirty := w.volDirty
	w.volDirty = false
	w.pmu.Unlock()
	if w.volPaths != nil && !dirty {
		return nil
	}
	env := &envSource{pod: pod, podIP: w.st.IP, hostIP: w.a.cfg.HostIP, allocated: w.a.allocated, client: w.a.client}
	res, err := volume.Setup(pod, w.a.volumesDir(w.st), w.a.volumeSources(ctx, env))
	for _, msg := range res.Warnings {
		w.warn(pod, "", "FailedMount", msg)
	}
	if err != nil {
		w.pmu.Lock()
		w.volDirty = true // try again on the next pass
		w.pmu.Unlock()
		if w.volPaths == nil && w.hasRun() {
			// Set up by an earlier agent: keep what is on disk.
			w.volPaths = res.Paths
			for _, v := range pod.Spec.Volumes {
				d := filepath.Join(w.a.volumesDir(w.st), v.Name)
				if _, ok := w.volPaths[v.Name]; !ok && dirExists(d) {
					w.volPaths[v.Name] = d
				}
			}
		}
		if w.volPaths != nil {
			// Set up before: a failed refresh (a ConfigMap deleted)
			// leaves the last files and does not stop restarts, as
			// with the kubelet.
			w.warn(pod, "", "FailedMount", err.Error())
			return nil
		}
		return err
	}
	w.volPaths = res.Paths
	return nil
}

// hasRun reports whether a container of the pod ever started.
func (w *podWorker) hasRun() bool {
	for _, cs := range w.st.Containers {
		if cs.Run != nil {
			return true
		}
	}
	return false
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func (a *Agent) volumeSources(ctx context.Context, env *envSource) volume.Sources {
	return volume.Sources{
		ConfigMap: func(ns, name string) (*corev1.ConfigMap, error) {
			if a.configMaps.HasSynced() {
				return a.cmLister.ConfigMaps(ns).Get(name)
			}
			return a.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		},
		Secret: func(ns, name string) (*corev1.Secret, error) {
			if a.secrets.HasSynced() {
				return a.secLister.Secrets(ns).Get(name)
			}
			return a.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		},
		PVC: func(ns, name string) (*corev1.PersistentVolumeClaim, error) {
			return a.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		},
		PV: func(name string) (*corev1.PersistentVolume, error) {
			return a.client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		},
		Field: env.fieldRef,
		Resource: func(ref *corev1.ResourceFieldSelector) (string, error) {
			if ref.ContainerName == "" {
				return "", errors.New("resourceFieldRef in a downwardAPI volume needs a containerName")
			}
			return env.resourceFieldRef(nil, ref)
		},
	}
}

// volumeEnv tells c where its mounted volumes are.
func (w *podWorker) volumeEnv(c *corev1.Container) []envVar {
	var out []envVar
	var seen []string
	for _, m := range c.VolumeMounts {
		p, ok := w.volPaths[m.Name]
		if !ok || slices.Contains(seen, m.Name) {
			continue
		}
		seen = append(seen, m.Name)
		out = append(out, envVar{volumeEnvPrefix + envName(m.Name), p})
	}
	return out
}

// containerMounts are the mounts c runs with: none unless
// Config.PrivateMounts and root, else the pod's /etc files and c's
// volumeMounts (which win, coming last).
func (w *podWorker) containerMounts(pod *corev1.Pod, c *corev1.Container) []runtime.Mount {
	if !w.a.cfg.PrivateMounts || os.Geteuid() != 0 {
		return nil
	}
	etc, err := w.etcMounts(pod)
	if err != nil {
		w.log.Warn("pod hosts and resolv.conf", "err", err)
	}
	return append(etc, w.mounts(c)...)
}

// mounts are c's volumeMounts as bind mounts (Config.PrivateMounts).
func (w *podWorker) mounts(c *corev1.Container) []runtime.Mount {
	var out []runtime.Mount
	for _, m := range c.VolumeMounts {
		src, ok := w.volPaths[m.Name]
		if !ok {
			continue
		}
		if m.SubPath != "" {
			src = filepath.Join(src, m.SubPath)
		}
		out = append(out, runtime.Mount{Source: src, Target: m.MountPath, ReadOnly: m.ReadOnly})
	}
	return out
}

// servicesEnv is the service environment of pod (see serviceEnv).
func (a *Agent) servicesEnv(ctx context.Context, pod *corev1.Pod) ([]envVar, error) {
	var svcs []*corev1.Service
	if a.services.HasSynced() {
		// Only the pod's namespace and the master services matter.
		var err error
		if svcs, err = a.svcLister.Services(pod.Namespace).List(labels.Everything()); err != nil {
			return nil, err
		}
		for name := range masterServices {
			if s, err := a.svcLister.Services(metav1.NamespaceDefault).Get(name); err == nil {
				svcs = append(svcs, s)
			}
		}
	} else {
		l, err := a.client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			svcs = append(svcs, &l.Items[i])
		}
	}
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	return serviceEnv(svcs, pod.Namespace, links), nil
}
