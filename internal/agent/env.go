package agent

import (
	"context"
	"fmt"
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
)

// configError is a problem with the pod's configuration (a missing
// ConfigMap key, no command): the container waits with
// CreateContainerConfigError until it is fixed.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// envSource is what a container's environment is built from.
type envSource struct {
	pod       *corev1.Pod
	podIP     string
	hostIP    string
	allocated corev1.ResourceList // node allocatable, for limits not set
	client    kubernetes.Interface
	// base are variables the container gets unless its env or envFrom
	// set them (volume locations, service links); $(VAR) sees them.
	base []envVar
}

// envVar is one resolved variable, in order.
type envVar struct{ name, value string }

// containerEnv resolves envFrom then env of c, as the kubelet does:
// envFrom first (invalid names skipped), env after it (overriding), each
// env value expanded with the variables before it.
func (s *envSource) containerEnv(ctx context.Context, c *corev1.Container) ([]envVar, error) {
	var out []envVar
	vals := map[string]string{}
	set := func(name, value string) {
		if _, ok := vals[name]; ok {
			for i := range out {
				if out[i].name == name {
					out[i].value = value
				}
			}
		} else {
			out = append(out, envVar{name, value})
		}
		vals[name] = value
	}
	baseVals := map[string]string{}
	for _, v := range s.base {
		if _, ok := baseVals[v.name]; !ok {
			baseVals[v.name] = v.value
		}
	}
	ns := s.pod.Namespace
	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.ConfigMapRef != nil:
			optional := from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional
			cm, err := s.client.CoreV1().ConfigMaps(ns).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) && optional {
					continue
				}
				if apierrors.IsNotFound(err) {
					return nil, &configError{fmt.Sprintf("configmap %q not found", from.ConfigMapRef.Name)}
				}
				return nil, fmt.Errorf("get configmap %s/%s: %w", ns, from.ConfigMapRef.Name, err)
			}
			data = cm.Data
		case from.SecretRef != nil:
			optional := from.SecretRef.Optional != nil && *from.SecretRef.Optional
			sec, err := s.client.CoreV1().Secrets(ns).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) && optional {
					continue
				}
				if apierrors.IsNotFound(err) {
					return nil, &configError{fmt.Sprintf("secret %q not found", from.SecretRef.Name)}
				}
				return nil, fmt.Errorf("get secret %s/%s: %w", ns, from.SecretRef.Name, err)
			}
			data = map[string]string{}
			for k, v := range sec.Data {
				data[k] = string(v)
			}
		}
		for _, k := range sortedKeys(data) {
			name := from.Prefix + k
			if len(validation.IsEnvVarName(name)) > 0 {
				continue
			}
			set(name, data[k])
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, mapLookup(vals, baseVals)))
			continue
		}
		v, ok, err := s.valueFrom(ctx, c, e.ValueFrom)
		if err != nil {
			return nil, err
		}
		if ok {
			set(e.Name, v)
		}
	}
	for _, v := range s.base {
		if _, ok := vals[v.name]; !ok {
			set(v.name, v.value)
		}
	}
	return out, nil
}

// valueFrom resolves one env source; ok is false for an optional source
// that is missing.
func (s *envSource) valueFrom(ctx context.Context, c *corev1.Container, from *corev1.EnvVarSource) (string, bool, error) {
	ns := s.pod.Namespace
	switch {
	case from.FieldRef != nil:
		v, err := s.fieldRef(from.FieldRef.FieldPath)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		v, err := s.resourceFieldRef(c, from.ResourceFieldRef)
		return v, err == nil, err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		optional := ref.Optional != nil && *ref.Optional
		cm, err := s.client.CoreV1().ConfigMaps(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if optional {
				return "", false, nil
			}
			return "", false, &configError{fmt.Sprintf("configmap %q not found", ref.Name)}
		}
		if err != nil {
			return "", false, fmt.Errorf("get configmap %s/%s: %w", ns, ref.Name, err)
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, true, nil
		}
		if v, ok := cm.BinaryData[ref.Key]; ok {
			return string(v), true, nil
		}
		if optional {
			return "", false, nil
		}
		return "", false, &configError{fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, ns, ref.Name)}
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		optional := ref.Optional != nil && *ref.Optional
		sec, err := s.client.CoreV1().Secrets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if optional {
				return "", false, nil
			}
			return "", false, &configError{fmt.Sprintf("secret %q not found", ref.Name)}
		}
		if err != nil {
			return "", false, fmt.Errorf("get secret %s/%s: %w", ns, ref.Name, err)
		}
		if v, ok := sec.Data[ref.Key]; ok {
			return string(v), true, nil
		}
		if optional {
			return "", false, nil
		}
		return "", false, &configError{fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, ns, ref.Name)}
	}
	return "", false, &configError{"env var source has no reference"}
}

// fieldRef resolves a downward API field path.
func (s *envSource) fieldRef(path string) (string, error) {
	p := s.pod
	if k, ok := subscript(path, "metadata.labels"); ok {
		return p.Labels[k], nil
	}
	if k, ok := subscript(path, "metadata.annotations"); ok {
		return p.Annotations[k], nil
	}
	switch path {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return string(p.UID), nil
	case "spec.nodeName":
		return p.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return s.hostIP, nil
	case "status.podIP", "status.podIPs":
		return s.podIP, nil
	}
	return "", &configError{fmt.Sprintf("unsupported fieldPath: %s", path)}
}

// subscript parses prefix['key'].
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

// resourceFieldRef resolves limits/requests of a container, rounded up in
// units of the divisor; an unset limit is the node's allocatable.
func (s *envSource) resourceFieldRef(c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" {
		found := false
		for _, cs := range append(append([]corev1.Container{}, s.pod.Spec.InitContainers...), s.pod.Spec.Containers...) {
			if cs.Name == ref.ContainerName {
				c, found = &cs, true
				break
			}
		}
		if !found {
			return "", &configError{fmt.Sprintf("container %q not found in pod", ref.ContainerName)}
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", &configError{fmt.Sprintf("unsupported container resource: %s", ref.Resource)}
	}
	rn := corev1.ResourceName(name)
	var q resource.Quantity
	var set bool
	if kind == "limits" {
		q, set = c.Resources.Limits[rn]
	} else {
		q, set = c.Resources.Requests[rn]
		if !set {
			// An unset request defaults to the limit.
			q, set = c.Resources.Limits[rn]
		}
	}
	if !set {
		if kind == "requests" {
			q = resource.Quantity{}
		} else {
			q = s.allocated[rn]
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if rn == corev1.ResourceCPU {
		return fmt.Sprint(int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue())))), nil
	}
	return fmt.Sprint(int64(math.Ceil(float64(q.Value()) / float64(divisor.Value())))), nil
}
