package volume

import (
	"fmt"
	"io/fs"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Default file modes when a volume sets none. The API server defaults
// defaultMode (to 0644) on create; these apply to pods that bypassed it.
const (
	defaultMode       fs.FileMode = 0o644
	defaultSecretMode fs.FileMode = 0o400
)

func mode(m *int32, def fs.FileMode) fs.FileMode {
	if m == nil {
		return def
	}
	return fs.FileMode(*m) & fs.ModePerm
}

// buildPayload computes the files of a configMap, secret, downwardAPI or
// projected volume.
func buildPayload(pod *corev1.Pod, s *corev1.VolumeSource, src Sources) (map[string]File, []string, error) {
	out := map[string]File{}
	switch {
	case s.ConfigMap != nil:
		return out, nil, addConfigMap(out, pod.Namespace, &s.ConfigMap.LocalObjectReference, s.ConfigMap.Items, s.ConfigMap.Optional, mode(s.ConfigMap.DefaultMode, defaultMode), src)
	case s.Secret != nil:
		ref := corev1.LocalObjectReference{Name: s.Secret.SecretName}
		return out, nil, addSecret(out, pod.Namespace, &ref, s.Secret.Items, s.Secret.Optional, mode(s.Secret.DefaultMode, defaultSecretMode), src)
	case s.DownwardAPI != nil:
		return out, nil, addDownward(out, pod, s.DownwardAPI.Items, mode(s.DownwardAPI.DefaultMode, defaultMode), src)
	}
	p := s.Projected
	def := mode(p.DefaultMode, defaultMode)
	var warns []string
	for i := range p.Sources {
		ps := &p.Sources[i]
		var err error
		switch {
		case ps.ConfigMap != nil:
			err = addConfigMap(out, pod.Namespace, &ps.ConfigMap.LocalObjectReference, ps.ConfigMap.Items, ps.ConfigMap.Optional, def, src)
		case ps.Secret != nil:
			err = addSecret(out, pod.Namespace, &ps.Secret.LocalObjectReference, ps.Secret.Items, ps.Secret.Optional, def, src)
		case ps.DownwardAPI != nil:
			err = addDownward(out, pod, ps.DownwardAPI.Items, def, src)
		case ps.ServiceAccountToken != nil:
			warns = append(warns, fmt.Sprintf("projected serviceAccountToken %q skipped: the process runtime does not issue service account tokens", ps.ServiceAccountToken.Path))
		default:
			warns = append(warns, "projected volume source skipped: not supported by the process runtime")
		}
		if err != nil {
			return nil, warns, err
		}
	}
	return out, warns, nil
}

// addKeys adds the keys of an object (all of them, or the items), as the
// kubelet does for configMap and secret volumes.
func addKeys(out map[string]File, kind, ns, name string, data map[string][]byte, items []corev1.KeyToPath, optional bool, def fs.FileMode) error {
	if len(items) == 0 {
		for _, k := range sortedKeys(data) {
			out[k] = File{Data: data[k], Mode: def}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return fmt.Errorf("%s %s/%s references non-existent key: %s", kind, ns, name, it.Key)
		}
		out[it.Path] = File{Data: v, Mode: mode(it.Mode, def)}
	}
	return nil
}

func addConfigMap(out map[string]File, ns string, ref *corev1.LocalObjectReference, items []corev1.KeyToPath, optional *bool, def fs.FileMode, src Sources) error {
	opt := optional != nil && *optional
	cm, err := src.ConfigMap(ns, ref.Name)
	if apierrors.IsNotFound(err) {
		if opt {
			return nil
		}
		return fmt.Errorf("configmap %q not found", ref.Name)
	}
	if err != nil {
		return fmt.Errorf("get configmap %s/%s: %w", ns, ref.Name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return addKeys(out, "configmap", ns, ref.Name, data, items, opt, def)
}

func addSecret(out map[string]File, ns string, ref *corev1.LocalObjectReference, items []corev1.KeyToPath, optional *bool, def fs.FileMode, src Sources) error {
	opt := optional != nil && *optional
	sec, err := src.Secret(ns, ref.Name)
	if apierrors.IsNotFound(err) {
		if opt {
			return nil
		}
		return fmt.Errorf("secret %q not found", ref.Name)
	}
	if err != nil {
		return fmt.Errorf("get secret %s/%s: %w", ns, ref.Name, err)
	}
	return addKeys(out, "secret", ns, ref.Name, sec.Data, items, opt, def)
}

func addDownward(out map[string]File, pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, def fs.FileMode, src Sources) error {
	for i := range items {
		it := &items[i]
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = fieldValue(pod, it.FieldRef.FieldPath, src)
		case it.ResourceFieldRef != nil:
			v, err = src.Resource(it.ResourceFieldRef)
		default:
			err = fmt.Errorf("downwardAPI item %q has no fieldRef or resourceFieldRef", it.Path)
		}
		if err != nil {
			return err
		}
		out[it.Path] = File{Data: []byte(v), Mode: mode(it.Mode, def)}
	}
	return nil
}

func fieldValue(pod *corev1.Pod, path string, src Sources) (string, error) {
	switch path {
	case "metadata.labels":
		return FormatMap(pod.Labels), nil
	case "metadata.annotations":
		return FormatMap(pod.Annotations), nil
	}
	return src.Field(path)
}

// FormatMap renders labels or annotations as the downward API does: one
// key="quoted value" per line, sorted by key, no trailing newline.
func FormatMap(m map[string]string) string {
	var b strings.Builder
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}
