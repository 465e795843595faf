package volume

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func fakeSources(objs ...any) Sources {
	notFound := func(res, name string) error {
		return apierrors.NewNotFound(schema.GroupResource{Resource: res}, name)
	}
	return Sources{
		ConfigMap: func(ns, name string) (*corev1.ConfigMap, error) {
			for _, o := range objs {
				if cm, ok := o.(*corev1.ConfigMap); ok && cm.Namespace == ns && cm.Name == name {
					return cm, nil
				}
			}
			return nil, notFound("configmaps", name)
		},
		Secret: func(ns, name string) (*corev1.Secret, error) {
			for _, o := range objs {
				if s, ok := o.(*corev1.Secret); ok && s.Namespace == ns && s.Name == name {
					return s, nil
				}
			}
			return nil, notFound("secrets", name)
		},
		PVC: func(ns, name string) (*corev1.PersistentVolumeClaim, error) {
			for _, o := range objs {
				if c, ok := o.(*corev1.PersistentVolumeClaim); ok && c.Namespace == ns && c.Name == name {
					return c, nil
				}
			}
			return nil, notFound("persistentvolumeclaims", name)
		},
		PV: func(name string) (*corev1.PersistentVolume, error) {
			for _, o := range objs {
				if v, ok := o.(*corev1.PersistentVolume); ok && v.Name == name {
					return v, nil
				}
			}
			return nil, notFound("persistentvolumes", name)
		},
		Field: func(path string) (string, error) {
			if path == "metadata.name" {
				return "p", nil
			}
			return "", errors.New("unsupported")
		},
		Resource: func(*corev1.ResourceFieldSelector) (string, error) { return "1", nil },
	}
}

func TestFormatMap(t *testing.T) {
	got := FormatMap(map[string]string{"b": "2", "a": `say "hi"`})
	if want := "a=\"say \\\"hi\\\"\"\nb=\"2\""; got != want {
		t.Errorf("FormatMap = %q, want %q", got, want)
	}
	if FormatMap(nil) != "" {
		t.Errorf("empty map not empty")
	}
}

func TestBuildPayload(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cm"},
		Data: map[string]string{"k1": "v1", "k2": "v2"}, BinaryData: map[string][]byte{"bin": {0, 1}}}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "sec"}, Data: map[string][]byte{"pw": []byte("x")}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", Labels: map[string]string{"app": "a"}}}
	src := fakeSources(cm, sec)
	for _, tc := range []struct {
		name  string
		vs    corev1.VolumeSource
		want  map[string]File
		err   string
		warns int
	}{
		{name: "configmap all keys", vs: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
			want: map[string]File{"k1": {[]byte("v1"), 0o644}, "k2": {[]byte("v2"), 0o644}, "bin": {[]byte{0, 1}, 0o644}}},
		{name: "configmap items and modes", vs: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"},
			DefaultMode: ptr.To(int32(0o600)), Items: []corev1.KeyToPath{{Key: "k1", Path: "d/one"}, {Key: "k2", Path: "two", Mode: ptr.To(int32(0o444))}}}},
			want: map[string]File{"d/one": {[]byte("v1"), 0o600}, "two": {[]byte("v2"), 0o444}}},
		{name: "configmap missing key", vs: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"},
			Items: []corev1.KeyToPath{{Key: "nope", Path: "x"}}}}, err: "non-existent key"},
		{name: "configmap missing", vs: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}}}, err: `configmap "gone" not found`},
		{name: "configmap missing optional", vs: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr.To(true)}},
			want: map[string]File{}},
		{name: "secret default mode", vs: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}},
			want: map[string]File{"pw": {[]byte("x"), 0o400}}},
		{name: "secret missing", vs: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "gone"}}, err: `secret "gone" not found`},
		{name: "downward", vs: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}, Mode: ptr.To(int32(0o600))},
			{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu"}},
		}}}, want: map[string]File{"labels": {[]byte(`app="a"`), 0o644}, "name": {[]byte("p"), 0o600}, "cpu": {[]byte("1"), 0o644}}},
		{name: "projected", vs: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptr.To(int32(0o640)), Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Items: []corev1.KeyToPath{{Key: "k1", Path: "k1"}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
		}}}, want: map[string]File{"k1": {[]byte("v1"), 0o640}, "pw": {[]byte("x"), 0o640}, "name": {[]byte("p"), 0o640}}, warns: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warns, err := buildPayload(pod, &tc.vs, src)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != tc.warns {
				t.Errorf("warnings = %v", warns)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("payload = %v, want %v", got, tc.want)
			}
			for k, w := range tc.want {
				g, ok := got[k]
				if !ok || string(g.Data) != string(w.Data) || g.Mode != w.Mode {
					t.Errorf("%s = %q %o, want %q %o", k, g.Data, g.Mode, w.Data, w.Mode)
				}
			}
		})
	}
}

func TestHostPathTypes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		typ  corev1.HostPathType
		ok   bool
	}{
		{filepath.Join(dir, "nothing"), corev1.HostPathUnset, true},
		{filepath.Join(dir, "new/dir"), corev1.HostPathDirectoryOrCreate, true},
		{file, corev1.HostPathDirectoryOrCreate, false},
		{dir, corev1.HostPathDirectory, true},
		{filepath.Join(dir, "missing"), corev1.HostPathDirectory, false},
		{file, corev1.HostPathDirectory, false},
		{file, corev1.HostPathFile, true},
		{dir, corev1.HostPathFile, false},
		{filepath.Join(dir, "newfile"), corev1.HostPathFileOrCreate, true},
		{file, corev1.HostPathSocket, false},
		{"/dev/null", corev1.HostPathCharDev, true},
		{file, corev1.HostPathBlockDev, false},
	} {
		err := checkHostPath(&corev1.HostPathVolumeSource{Path: tc.path, Type: &tc.typ})
		if (err == nil) != tc.ok {
			t.Errorf("%s %q: err = %v, want ok=%v", tc.path, tc.typ, err, tc.ok)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "new/dir")); err != nil || !fi.IsDir() {
		t.Errorf("DirectoryOrCreate did not create: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "newfile")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("FileOrCreate did not create: %v", err)
	}
}

func TestSetup(t *testing.T) {
	local := t.TempDir()
	objs := []any{
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bound"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv1"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pending"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: local}}}},
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
		{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "bound"}}},
		{Name: "wait", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "pending"}}},
		{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "x", Path: "/"}}},
	}}}
	dir := t.TempDir()
	t.Cleanup(func() {
		if err := UnmountAll(dir); err != nil {
			t.Error(err)
		}
	})
	res, err := Setup(pod, dir, fakeSources(objs...))
	if err == nil || !strings.Contains(err.Error(), "PVC is not bound") || !strings.Contains(err.Error(), `volume "nfs"`) {
		t.Errorf("err = %v", err)
	}
	var me *MountError
	if !errors.As(err, &me) {
		t.Errorf("err is not a MountError: %T", err)
	}
	if res.Paths["data"] != local {
		t.Errorf("pvc path = %q, want %q", res.Paths["data"], local)
	}
	if fi, err := os.Stat(res.Paths["scratch"]); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir: %v %v", fi, err)
	}
	if os.Geteuid() == 0 && !isMountPoint(res.Paths["scratch"]) && len(res.Warnings) == 0 {
		t.Errorf("memory emptyDir not mounted as root, and no warning")
	}
	// Setting up again mounts nothing more.
	if _, err := Setup(pod, dir, fakeSources(objs...)); err == nil {
		t.Errorf("second setup: no error for the unbound claim")
	}
	if err := UnmountAll(dir); err != nil {
		t.Fatal(err)
	}
	if isMountPoint(res.Paths["scratch"]) {
		t.Errorf("still mounted after UnmountAll")
	}
	if _, ok := res.Paths["wait"]; ok {
		t.Errorf("unbound claim has a path")
	}
}
