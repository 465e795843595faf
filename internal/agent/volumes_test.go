package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/internal/agent"
)

// waitLog polls a container's log until it holds want.
func (e *env) waitLog(t *testing.T, pod, container, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		_, out = e.getLog(t, pod, "container="+container)
		if strings.Contains(out, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("log of %s/%s lacks %q:\n%s", pod, container, want, out)
}

// waitEvent polls for an event of the pod with reason and a message
// holding msg.
func (e *env) waitEvent(t *testing.T, pod, reason, msg string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := e.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		if err == nil {
			for _, ev := range evs.Items {
				if ev.InvolvedObject.Name == pod && ev.Reason == reason && strings.Contains(ev.Message, msg) {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s event with %q for pod %s", reason, msg, pod)
}

func (e *env) volumeDir(p *corev1.Pod, vol string) string {
	return filepath.Join(e.dir, "pods", p.Namespace+"_"+p.Name+"_"+string(p.UID), "volumes", vol)
}

func TestServiceEnvironmentVariables(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	svc, err := e.client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "redis-primary"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "redis"}, Ports: []corev1.ServicePort{
			{Name: "redis", Port: 6379, Protocol: corev1.ProtocolTCP},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := svc.Spec.ClusterIP
	if ip == "" || ip == corev1.ClusterIPNone {
		t.Fatalf("service has no cluster IP: %q", ip)
	}
	// The pod must start after the agent knows the service, as a pod
	// created after a Service on a real node would.
	deadline := time.Now().Add(10 * time.Second)
	for !e.agent.a.SeesService("default", "redis-primary") {
		if time.Now().After(deadline) {
			t.Fatal("agent never saw the service")
		}
		time.Sleep(20 * time.Millisecond)
	}
	vars := "REDIS_PRIMARY_SERVICE_HOST,REDIS_PRIMARY_SERVICE_PORT,REDIS_PRIMARY_SERVICE_PORT_REDIS,REDIS_PRIMARY_PORT,REDIS_PRIMARY_PORT_6379_TCP,REDIS_PRIMARY_PORT_6379_TCP_PROTO,REDIS_PRIMARY_PORT_6379_TCP_PORT,REDIS_PRIMARY_PORT_6379_TCP_ADDR,URL"
	p := workloadPod(t, "links", "echo",
		corev1.EnvVar{Name: "ECHO_VARS", Value: vars},
		corev1.EnvVar{Name: "REDIS_PRIMARY_PORT_6379_TCP_PROTO", Value: "mine"},
		corev1.EnvVar{Name: "URL", Value: "redis://$(REDIS_PRIMARY_SERVICE_HOST):$(REDIS_PRIMARY_SERVICE_PORT)"},
	)
	p.Spec.Containers[0].Args = []string{"$(REDIS_PRIMARY_SERVICE_HOST)"}
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	e.create(t, p)

	off := workloadPod(t, "nolinks", "echo", corev1.EnvVar{Name: "ECHO_VARS", Value: "REDIS_PRIMARY_SERVICE_HOST"})
	off.Spec.RestartPolicy = corev1.RestartPolicyNever
	off.Spec.EnableServiceLinks = ptr.To(false)
	e.create(t, off)

	succeeded := func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded }
	e.waitPod(t, "links", "Succeeded", succeeded)
	_, out := e.getLog(t, "links", "")
	for _, want := range []string{
		"arg " + ip,
		"env REDIS_PRIMARY_SERVICE_HOST=" + ip,
		"env REDIS_PRIMARY_SERVICE_PORT=6379",
		"env REDIS_PRIMARY_SERVICE_PORT_REDIS=6379",
		"env REDIS_PRIMARY_PORT=tcp://" + ip + ":6379",
		"env REDIS_PRIMARY_PORT_6379_TCP=tcp://" + ip + ":6379",
		"env REDIS_PRIMARY_PORT_6379_TCP_PROTO=mine",
		"env REDIS_PRIMARY_PORT_6379_TCP_PORT=6379",
		"env REDIS_PRIMARY_PORT_6379_TCP_ADDR=" + ip,
		"env URL=redis://" + ip + ":6379",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	e.waitPod(t, "nolinks", "Succeeded", succeeded)
	if _, out := e.getLog(t, "nolinks", ""); !strings.Contains(out, "env REDIS_PRIMARY_SERVICE_HOST=\n") {
		t.Errorf("enableServiceLinks=false pod sees the service:\n%s", out)
	}
}

func TestVolumesFiles(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	if _, err := e.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "app-config"},
		Data:       map[string]string{"greeting": "hello", "other": "x"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		Data:       map[string][]byte{"password": []byte("s3cret")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "hello"), []byte("from host"), 0o640); err != nil {
		t.Fatal(err)
	}
	p := workloadPod(t, "files", "files", corev1.EnvVar{Name: "FILES", Value: strings.Join([]string{
		"$(SKIFF_VOLUME_CONFIG)/greeting",
		"$(SKIFF_VOLUME_CONFIG)/sub/other",
		"$(SKIFF_VOLUME_CREDS)/password",
		"$(SKIFF_VOLUME_POD_INFO)/labels",
		"$(SKIFF_VOLUME_POD_INFO)/mem",
		"$(SKIFF_VOLUME_ALL_IN_ONE)/cfg/greeting",
		"$(SKIFF_VOLUME_ALL_IN_ONE)/name",
		"$(SKIFF_VOLUME_HOST)/hello",
	}, ",")})
	p.Labels["tier"] = "web"
	p.Spec.ServiceAccountName = "default"
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
		{Name: "config", MountPath: "/etc/config"},
		{Name: "creds", MountPath: "/etc/creds"},
		{Name: "pod-info", MountPath: "/etc/podinfo"},
		{Name: "all-in-one", MountPath: "/etc/all"},
		{Name: "host", MountPath: "/host"},
	}
	p.Spec.Volumes = []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"},
			Items:                []corev1.KeyToPath{{Key: "greeting", Path: "greeting"}, {Key: "other", Path: "sub/other", Mode: ptr.To(int32(0o600))}},
		}}},
		{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds", DefaultMode: ptr.To(int32(0o400))}}},
		{Name: "pod-info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "mem", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "main", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
		}}}},
		{Name: "all-in-one", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"},
				Items: []corev1.KeyToPath{{Key: "greeting", Path: "cfg/greeting"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
		}}}},
		{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir, Type: ptr.To(corev1.HostPathDirectory)}}},
	}
	created := e.create(t, p)
	e.waitPod(t, "files", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	_, out := e.getLog(t, "files", "")
	cfg, creds, info := e.volumeDir(created, "config"), e.volumeDir(created, "creds"), e.volumeDir(created, "pod-info")
	for _, want := range []string{
		"file " + cfg + `/greeting 644 "hello"`,
		"file " + cfg + `/sub/other 600 "x"`,
		"file " + creds + `/password 400 "s3cret"`,
		"file " + info + `/labels 644 "app=\"files\"\ntier=\"web\""`,
		"file " + info + `/mem 644 "32"`,
		"file " + e.volumeDir(created, "all-in-one") + `/cfg/greeting 644 "hello"`,
		"file " + e.volumeDir(created, "all-in-one") + `/name 644 "files"`,
		"file " + hostDir + `/hello 640 "from host"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	e.waitEvent(t, "files", "FailedMount", "serviceAccountToken")
	if err := e.client.CoreV1().Pods("default").Delete(ctx, "files", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, "files")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(cfg); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("volume dir %s left after the pod was deleted", cfg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConfigMapVolumeUpdate(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	cm, err := e.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "live"},
		Data:       map[string]string{"greeting": "hello"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := workloadPod(t, "watcher", "watch-file", corev1.EnvVar{Name: "WATCH_FILE", Value: "$(SKIFF_VOLUME_LIVE)/greeting"})
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "live", MountPath: "/etc/live"}}
	p.Spec.Volumes = []corev1.Volume{{Name: "live", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "live"}}}}}
	created := e.create(t, p)
	e.waitLog(t, "watcher", "main", `content "hello"`)
	cm.Data["greeting"] = "bye"
	if _, err := e.client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitLog(t, "watcher", "main", `content "bye"`)

	// Deleting the ConfigMap leaves the last files (and the pod) alone.
	if err := e.client.CoreV1().ConfigMaps("default").Delete(ctx, "live", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitEvent(t, "watcher", "FailedMount", `configmap "live" not found`)
	b, err := os.ReadFile(filepath.Join(e.volumeDir(created, "live"), "greeting"))
	if err != nil || string(b) != "bye" {
		t.Errorf("file after the ConfigMap was deleted = %q, %v", b, err)
	}
	if p, _ := e.client.CoreV1().Pods("default").Get(ctx, "watcher", metav1.GetOptions{}); !isReady(p) {
		t.Errorf("pod not ready after the ConfigMap was deleted")
	}
}

func TestEmptyDirSharedByContainers(t *testing.T) {
	e := setup(t, nil)
	p := workloadPod(t, "shared", "write-file",
		corev1.EnvVar{Name: "WRITE_FILE", Value: "$(SKIFF_VOLUME_SCRATCH)/msg"},
		corev1.EnvVar{Name: "WRITE_DATA", Value: "from writer"})
	p.Spec.Containers[0].Name = "writer"
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
	reader := *p.Spec.Containers[0].DeepCopy()
	reader.Name = "reader"
	reader.Env = []corev1.EnvVar{
		{Name: "SKIFF_TEST_WORKLOAD", Value: "watch-file"},
		{Name: "WATCH_FILE", Value: "$(SKIFF_VOLUME_SCRATCH)/msg"},
	}
	p.Spec.Containers = append(p.Spec.Containers, reader)
	p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}}
	created := e.create(t, p)
	e.waitLog(t, "shared", "reader", `content "from writer"`)
	scratch := e.volumeDir(created, "scratch")
	if os.Geteuid() == 0 {
		var st syscall.Statfs_t
		if err := syscall.Statfs(scratch, &st); err != nil || st.Type != 0x01021994 {
			t.Errorf("memory emptyDir is not a tmpfs as root: type %#x, %v", st.Type, err)
		}
	}
	e.deletePod(t, "shared")
	waitNoPath(t, scratch, "emptyDir")
}

func TestUnboundClaimWaits(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "stored"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-local"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: data}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc, err := e.client.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "claim"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := workloadPod(t, "claimer", "files", corev1.EnvVar{Name: "FILES", Value: "$(SKIFF_VOLUME_DATA)/stored"})
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim"}}}}
	e.create(t, p)

	// Unbound: the container waits in ContainerCreating with a FailedMount event.
	e.waitPod(t, "claimer", "ContainerCreating", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "ContainerCreating"
	})
	e.waitEvent(t, "claimer", "FailedMount", "not bound")

	// Bind it by hand (no volume binder runs here): the pod starts.
	pvc.Spec.VolumeName = "pv-local"
	if pvc, err = e.client.CoreV1().PersistentVolumeClaims("default").Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc.Status.Phase = corev1.ClaimBound
	if _, err := e.client.CoreV1().PersistentVolumeClaims("default").UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitPod(t, "claimer", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if _, out := e.getLog(t, "claimer", ""); !strings.Contains(out, "file "+data+`/stored 644 "kept"`) {
		t.Errorf("log lacks the PV's file:\n%s", out)
	}
	e.client.CoreV1().Pods("default").Delete(ctx, "claimer", metav1.DeleteOptions{})
	e.waitGone(t, "claimer")
	if _, err := os.Stat(filepath.Join(data, "stored")); err != nil {
		t.Errorf("PV data removed with the pod: %v", err)
	}
}

func TestPrivateMountsAtMountPath(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("private mount namespaces need root")
	}
	e := setup(t, func(c *agent.Config) { c.PrivateMounts, c.ClusterDNS = true, []string{"10.96.0.10"} })
	ctx := context.Background()
	if _, err := e.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "mounted"},
		Data:       map[string]string{"greeting": "hello", "single": "one file"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	at := filepath.Join(t.TempDir(), "etc", "config") // created by the agent
	file := filepath.Join(t.TempDir(), "single")
	p := workloadPod(t, "mounter", "files", corev1.EnvVar{Name: "FILES", Value: at + "/greeting," + file + ",/etc/resolv.conf,/etc/hosts"})
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
		{Name: "cfg", MountPath: at, ReadOnly: true},
		{Name: "cfg", MountPath: file, SubPath: "single"},
	}
	p.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "mounted"}}}}}
	e.create(t, p)
	e.waitPod(t, "mounter", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	_, out := e.getLog(t, "mounter", "")
	for _, want := range []string{
		"file " + at + `/greeting 644 "hello"`, "file " + file + ` 644 "one file"`,
		`file /etc/resolv.conf 644 "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"`,
		`\tmounter\n"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(at, "greeting")); !os.IsNotExist(err) {
		t.Errorf("the pod's mount is visible on the host: %v", err)
	}

	// Exec probes see the container's mounts too. (A generous timeout:
	// the probe starts the race-enabled test binary twice, shim and
	// probe.)
	probed := workloadPod(t, "probed", "sleep")
	probed.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: at}}
	probed.Spec.Containers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 1, TimeoutSeconds: 10, ProbeHandler: corev1.ProbeHandler{
		Exec: &corev1.ExecAction{Command: []string{exe(t), "--probe-file", at + "/greeting"}}}}
	probed.Spec.Volumes = p.Spec.Volumes
	e.create(t, probed)
	e.waitPod(t, "probed", "Ready", isReady)
}

func TestDownwardAPIVolumeFollowsLabels(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	p := workloadPod(t, "labelled", "watch-file", corev1.EnvVar{Name: "WATCH_FILE", Value: "$(SKIFF_VOLUME_INFO)/labels"})
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "info", MountPath: "/etc/info"}}
	p.Spec.Volumes = []corev1.Volume{{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
		Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}}}
	e.create(t, p)
	e.waitLog(t, "labelled", "main", `content "app=\"labelled\""`)
	patch := []byte(`{"metadata":{"labels":{"version":"v2"}}}`)
	if _, err := e.client.CoreV1().Pods("default").Patch(ctx, "labelled", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitLog(t, "labelled", "main", `content "app=\"labelled\"\nversion=\"v2\""`)
}
