package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func validateContainers(cs []corev1.Container, vols map[string]corev1.VolumeSource, claims sets.Set[string], grace *int64, fld *field.Path, rp corev1.RestartPolicy) field.ErrorList {
	if len(cs) == 0 {
		return field.ErrorList{field.Required(fld, "")}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range cs {
		c := &cs[i]
		p := fld.Index(i)
		errs = append(errs, validateContainerCommon(c, vols, claims, p, rp)...)
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		} else {
			names.Insert(c.Name)
		}
		if c.Lifecycle != nil {
			errs = append(errs, validateLifecycle(c.Lifecycle, grace, p.Child("lifecycle"))...)
		}
		errs = append(errs, validateProbe(c.LivenessProbe, grace, p.Child("livenessProbe"), true)...)
		errs = append(errs, validateReadinessProbe(c.ReadinessProbe, grace, p.Child("readinessProbe"))...)
		errs = append(errs, validateProbe(c.StartupProbe, grace, p.Child("startupProbe"), true)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(p.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	return append(errs, hostPortConflicts(cs, fld)...)
}

func validateInitContainers(cs, regular []corev1.Container, vols map[string]corev1.VolumeSource, claims sets.Set[string], grace *int64, fld *field.Path, rp corev1.RestartPolicy) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for _, c := range regular {
		names.Insert(c.Name)
	}
	for i := range cs {
		c := &cs[i]
		p := fld.Index(i)
		errs = append(errs, validateContainerCommon(c, vols, claims, p, rp)...)
		always := false
		if c.RestartPolicy != nil {
			if *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				errs = append(errs, field.NotSupported(p.Child("restartPolicy"), *c.RestartPolicy, []corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways}))
			}
			always = *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		} else if c.Name != "" {
			names.Insert(c.Name)
		}
		errs = append(errs, hostPortConflicts([]corev1.Container{*c}, fld)...)
		if always {
			if c.Lifecycle != nil {
				errs = append(errs, validateLifecycle(c.Lifecycle, grace, p.Child("lifecycle"))...)
			}
			errs = append(errs, validateProbe(c.LivenessProbe, grace, p.Child("livenessProbe"), true)...)
			errs = append(errs, validateReadinessProbe(c.ReadinessProbe, grace, p.Child("readinessProbe"))...)
			errs = append(errs, validateProbe(c.StartupProbe, grace, p.Child("startupProbe"), true)...)
		} else {
			const msg = "may not be set for init containers without restartPolicy=Always"
			if c.Lifecycle != nil {
				errs = append(errs, field.Forbidden(p.Child("lifecycle"), msg))
			}
			if c.LivenessProbe != nil {
				errs = append(errs, field.Forbidden(p.Child("livenessProbe"), msg))
			}
			if c.ReadinessProbe != nil {
				errs = append(errs, field.Forbidden(p.Child("readinessProbe"), msg))
			}
			if c.StartupProbe != nil {
				errs = append(errs, field.Forbidden(p.Child("startupProbe"), msg))
			}
		}
	}
	return errs
}

func validateEphemeralContainers(spec *corev1.PodSpec, vols map[string]corev1.VolumeSource, claims sets.Set[string], fld *field.Path) field.ErrorList {
	if len(spec.EphemeralContainers) == 0 {
		return nil
	}
	var errs field.ErrorList
	other, all := sets.New[string](), sets.New[string]()
	for _, c := range spec.Containers {
		other.Insert(c.Name)
		all.Insert(c.Name)
	}
	for _, c := range spec.InitContainers {
		other.Insert(c.Name)
		all.Insert(c.Name)
	}
	for i, ec := range spec.EphemeralContainers {
		p := fld.Index(i)
		c := corev1.Container(ec.EphemeralContainerCommon)
		errs = append(errs, validateContainerCommon(&c, vols, claims, p, spec.RestartPolicy)...)
		errs = append(errs, validateImageWhitespace(c.Image, p.Child("image"))...)
		if all.Has(ec.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), ec.Name))
		} else {
			all.Insert(ec.Name)
		}
		if ec.TargetContainerName != "" && !other.Has(ec.TargetContainerName) {
			errs = append(errs, field.NotFound(p.Child("targetContainerName"), ec.TargetContainerName))
		}
		const msg = "cannot be set for an Ephemeral Container"
		if len(ec.Ports) > 0 {
			errs = append(errs, field.Forbidden(p.Child("ports"), msg))
		}
		if len(ec.Resources.Limits)+len(ec.Resources.Requests)+len(ec.Resources.Claims) > 0 {
			errs = append(errs, field.Forbidden(p.Child("resources"), msg))
		}
		if ec.LivenessProbe != nil {
			errs = append(errs, field.Forbidden(p.Child("livenessProbe"), msg))
		}
		if ec.ReadinessProbe != nil {
			errs = append(errs, field.Forbidden(p.Child("readinessProbe"), msg))
		}
		if ec.StartupProbe != nil {
			errs = append(errs, field.Forbidden(p.Child("startupProbe"), msg))
		}
		if ec.Lifecycle != nil {
			errs = append(errs, field.Forbidden(p.Child("lifecycle"), msg))
		}
	}
	return errs
}

// validateContainerCommon applies what upstream checks on every kind of
// container: name, image, termination message policy, ports, env, mounts,
// pull policy, resources and security context.
func validateContainerCommon(c *corev1.Container, vols map[string]corev1.VolumeSource, claims sets.Set[string], p *field.Path, rp corev1.RestartPolicy) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, validateDNS1123Label(c.Name, p.Child("name"))...)
	}
	if c.Image == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	}
	switch c.TerminationMessagePolicy {
	case corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError:
	case "":
		errs = append(errs, field.Required(p.Child("terminationMessagePolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("terminationMessagePolicy"), c.TerminationMessagePolicy,
			[]corev1.TerminationMessagePolicy{corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError}))
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	devices := map[string]string{}
	for _, d := range c.VolumeDevices {
		devices[d.Name] = d.DevicePath
	}
	errs = append(errs, validateContainerPorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, devices, vols, c, p.Child("volumeMounts"))...)
	errs = append(errs, validateVolumeDevices(c.VolumeDevices, mounts, vols, p.Child("volumeDevices"))...)
	errs = append(errs, validatePullPolicy(c.ImagePullPolicy, p.Child("imagePullPolicy"))...)
	errs = append(errs, validateResources(&c.Resources, claims, p.Child("resources"))...)
	errs = append(errs, validateResizePolicy(c.ResizePolicy, p.Child("resizePolicy"), rp)...)
	errs = append(errs, validateContainerSecurityContext(c.SecurityContext, p.Child("securityContext"))...)
	return errs
}

func validateContainerPorts(ports []corev1.ContainerPort, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fld.Index(i)
		if port.Name != "" {
			if msgs := validation.IsValidPortName(port.Name); len(msgs) != 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(p.Child("name"), port.Name, msg))
				}
			} else if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
			} else {
				names.Insert(port.Name)
			}
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(p.Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(port.HostPort)) {
				errs = append(errs, field.Invalid(p.Child("hostPort"), port.HostPort, msg))
			}
		}
		if port.Protocol == "" {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else if !supportedPortProtocols.Has(port.Protocol) {
			errs = append(errs, field.NotSupported(p.Child("protocol"), port.Protocol, sets.List(supportedPortProtocols)))
		}
	}
	return errs
}

func hostPortConflicts(cs []corev1.Container, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for ci, c := range cs {
		for pi, port := range c.Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
			if seen.Has(key) {
				errs = append(errs, field.Duplicate(fld.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			} else {
				seen.Insert(key)
			}
		}
	}
	return errs
}

var validEnvFieldPaths = sets.New("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
	"spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")

var validVolumeFieldPaths = sets.New("metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid")

var validResourceFieldPaths = sets.New("limits.cpu", "limits.memory", "limits.ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.ephemeral-storage")

func validateEnv(vars []corev1.EnvVar, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		p := fld.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			for _, msg := range validation.IsRelaxedEnvVarName(ev.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), ev.Name, msg))
			}
		}
		errs = append(errs, validateEnvVarValueFrom(ev, p.Child("valueFrom"))...)
	}
	return errs
}

func validateEnvVarValueFrom(ev corev1.EnvVar, fld *field.Path) field.ErrorList {
	vf := ev.ValueFrom
	if vf == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if vf.FieldRef != nil {
		n++
		errs = append(errs, validateObjectFieldSelector(vf.FieldRef, validEnvFieldPaths, fld.Child("fieldRef"))...)
	}
	if vf.ResourceFieldRef != nil {
		n++
		errs = append(errs, validateResourceFieldSelector(vf.ResourceFieldRef, fld.Child("resourceFieldRef"), false)...)
	}
	if vf.ConfigMapKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key, fld.Child("configMapKeyRef"))...)
	}
	if vf.SecretKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(vf.SecretKeyRef.Name, vf.SecretKeyRef.Key, fld.Child("secretKeyRef"))...)
	}
	if vf.FileKeyRef != nil {
		n++
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(fld, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(fld, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(fld, "", "may not have more than one field specified at a time"))
	}
	return errs
}

func validateObjectFieldSelector(fs *corev1.ObjectFieldSelector, valid sets.Set[string], fld *field.Path) field.ErrorList {
	if fs.APIVersion == "" {
		return field.ErrorList{field.Required(fld.Child("apiVersion"), "")}
	}
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(fld.Child("fieldPath"), "")}
	}
	if fs.APIVersion != "v1" {
		return field.ErrorList{field.Invalid(fld.Child("fieldPath"), fs.FieldPath,
			fmt.Sprintf("error converting fieldPath: unsupported pod version: %s", fs.APIVersion))}
	}
	path := fs.FieldPath
	if i := strings.Index(path, "["); i > 0 && strings.HasSuffix(path, "']") && len(path) > i+4 && path[i+1] == '\'' {
		sub := path[i+2 : len(path)-2]
		switch path[:i] {
		case "metadata.annotations":
			return validateQualifiedName(strings.ToLower(sub), fld)
		case "metadata.labels":
			return validateQualifiedName(sub, fld)
		default:
			return field.ErrorList{field.Invalid(fld, path[:i], "does not support subscript")}
		}
	}
	if !valid.Has(path) {
		return field.ErrorList{field.NotSupported(fld.Child("fieldPath"), path, sets.List(valid))}
	}
	return nil
}

func validateResourceFieldSelector(fs *corev1.ResourceFieldSelector, fld *field.Path, volume bool) field.ErrorList {
	var errs field.ErrorList
	switch {
	case volume && fs.ContainerName == "":
		errs = append(errs, field.Required(fld.Child("containerName"), ""))
	case fs.Resource == "":
		errs = append(errs, field.Required(fld.Child("resource"), ""))
	case !validResourceFieldPaths.Has(fs.Resource) && !strings.HasPrefix(fs.Resource, "requests.hugepages-") && !strings.HasPrefix(fs.Resource, "limits.hugepages-"):
		errs = append(errs, field.NotSupported(fld.Child("resource"), fs.Resource, sets.List(validResourceFieldPaths)))
	}
	return errs
}

func validateKeySelector(name, key string, fld *field.Path) field.ErrorList {
	errs := invalidNames(nameIsDNSSubdomain, name, fld.Child("name"))
	if key == "" {
		errs = append(errs, field.Required(fld.Child("key"), ""))
	} else {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(fld.Child("key"), key, msg))
		}
	}
	return errs
}

func validateEnvFrom(vars []corev1.EnvFromSource, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		p := fld.Index(i)
		if ev.Prefix != "" {
			for _, msg := range validation.IsRelaxedEnvVarName(ev.Prefix) {
				errs = append(errs, field.Invalid(p.Child("prefix"), ev.Prefix, msg))
			}
		}
		n := 0
		if ev.ConfigMapRef != nil {
			n++
			errs = append(errs, validateEnvSourceName(ev.ConfigMapRef.Name, p.Child("configMapRef"))...)
		}
		if ev.SecretRef != nil {
			n++
			errs = append(errs, validateEnvSourceName(ev.SecretRef.Name, p.Child("secretRef"))...)
		}
		if n == 0 {
			errs = append(errs, field.Invalid(fld, "", "must specify one of: `configMapRef` or `secretRef`"))
		} else if n > 1 {
			errs = append(errs, field.Invalid(fld, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

func validateEnvSourceName(name string, fld *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fld.Child("name"), "")}
	}
	var errs field.ErrorList
	for _, msg := range nameIsDNSSubdomain(name, true) {
		errs = append(errs, field.Invalid(fld.Child("name"), name, msg))
	}
	return errs
}

func validatePullPolicy(p corev1.PullPolicy, fld *field.Path) field.ErrorList {
	switch p {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fld, "")}
	}
	return field.ErrorList{field.NotSupported(fld, p, []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever})}
}

func validateResizePolicy(list []corev1.ContainerResizePolicy, fld *field.Path, rp corev1.RestartPolicy) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.ResourceName]bool{}
	for i, p := range list {
		if seen[p.ResourceName] {
			errs = append(errs, field.Duplicate(fld.Index(i), p.ResourceName))
		}
		seen[p.ResourceName] = true
		switch p.ResourceName {
		case corev1.ResourceCPU, corev1.ResourceMemory:
		case "":
			errs = append(errs, field.Required(fld, ""))
		default:
			errs = append(errs, field.NotSupported(fld, p.ResourceName, []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}))
		}
		switch p.RestartPolicy {
		case corev1.NotRequired, corev1.RestartContainer:
		case "":
			errs = append(errs, field.Required(fld, ""))
		default:
			errs = append(errs, field.NotSupported(fld, p.RestartPolicy, []corev1.ResourceResizeRestartPolicy{corev1.NotRequired, corev1.RestartContainer}))
		}
		if rp == corev1.RestartPolicyNever && p.RestartPolicy != corev1.NotRequired {
			errs = append(errs, field.Invalid(fld, p.RestartPolicy, "must be 'NotRequired' when `restartPolicy` is 'Never'"))
		}
	}
	return errs
}

func validateReadinessProbe(p *corev1.Probe, grace *int64, fld *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	errs := validateProbe(p, grace, fld, false)
	if p.TerminationGracePeriodSeconds != nil {
		errs = append(errs, field.Invalid(fld.Child("terminationGracePeriodSeconds"), p.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
	}
	return errs
}

// validateProbe is validateProbe plus, for liveness and startup probes, the
// successThreshold == 1 rule.
func validateProbe(p *corev1.Probe, grace *int64, fld *field.Path, successMustBeOne bool) field.ErrorList {
	if p == nil {
		return nil
	}
	errs := validateHandler(p.Exec, p.HTTPGet, p.TCPSocket, p.GRPC, nil, grace, fld)
	errs = append(errs, validateNonnegative(int64(p.InitialDelaySeconds), fld.Child("initialDelaySeconds"))...)
	errs = append(errs, validateNonnegative(int64(p.TimeoutSeconds), fld.Child("timeoutSeconds"))...)
	errs = append(errs, validateNonnegative(int64(p.PeriodSeconds), fld.Child("periodSeconds"))...)
	errs = append(errs, validateNonnegative(int64(p.SuccessThreshold), fld.Child("successThreshold"))...)
	errs = append(errs, validateNonnegative(int64(p.FailureThreshold), fld.Child("failureThreshold"))...)
	if p.TerminationGracePeriodSeconds != nil && *p.TerminationGracePeriodSeconds <= 0 {
		errs = append(errs, field.Invalid(fld.Child("terminationGracePeriodSeconds"), *p.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	if successMustBeOne && p.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(fld.Child("successThreshold"), p.SuccessThreshold, "must be 1"))
	}
	return errs
}

func validateLifecycle(lc *corev1.Lifecycle, grace *int64, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h := lc.PostStart; h != nil {
		errs = append(errs, validateHandler(h.Exec, h.HTTPGet, h.TCPSocket, nil, h.Sleep, grace, fld.Child("postStart"))...)
	}
	if h := lc.PreStop; h != nil {
		errs = append(errs, validateHandler(h.Exec, h.HTTPGet, h.TCPSocket, nil, h.Sleep, grace, fld.Child("preStop"))...)
	}
	return errs
}

func validateHandler(exec *corev1.ExecAction, httpGet *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction, grpc *corev1.GRPCAction, sleep *corev1.SleepAction, grace *int64, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	const more = "may not specify more than 1 handler type"
	if exec != nil {
		n++
		if len(exec.Command) == 0 {
			errs = append(errs, field.Required(fld.Child("exec", "command"), ""))
		}
	}
	if httpGet != nil {
		if n > 0 {
			errs = append(errs, field.Forbidden(fld.Child("httpGet"), more))
		} else {
			n++
			p := fld.Child("httpGet")
			if httpGet.Path == "" {
				errs = append(errs, field.Required(p.Child("path"), ""))
			}
			errs = append(errs, portNumOrName(httpGet.Port, p.Child("port"))...)
			if httpGet.Scheme != corev1.URISchemeHTTP && httpGet.Scheme != corev1.URISchemeHTTPS {
				errs = append(errs, field.NotSupported(p.Child("scheme"), httpGet.Scheme, []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}))
			}
			for _, h := range httpGet.HTTPHeaders {
				for _, msg := range validation.IsHTTPHeaderName(h.Name) {
					errs = append(errs, field.Invalid(p.Child("httpHeaders"), h.Name, msg))
				}
			}
		}
	}
	if tcp != nil {
		if n > 0 {
			errs = append(errs, field.Forbidden(fld.Child("tcpSocket"), more))
		} else {
			n++
			errs = append(errs, portNumOrName(tcp.Port, fld.Child("tcpSocket", "port"))...)
		}
	}
	if grpc != nil {
		if n > 0 {
			errs = append(errs, field.Forbidden(fld.Child("grpc"), more))
		} else {
			n++
			errs = append(errs, portNumOrName(intstr.FromInt32(grpc.Port), fld.Child("grpc", "port"))...)
		}
	}
	if sleep != nil {
		if n > 0 {
			errs = append(errs, field.Forbidden(fld.Child("sleep"), more))
		} else {
			n++
			if grace != nil && (sleep.Seconds < 0 || sleep.Seconds > *grace) {
				errs = append(errs, field.Invalid(fld.Child("sleep"), sleep.Seconds,
					fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", *grace)))
			}
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(fld, "must specify a handler type"))
	}
	return errs
}

// Resource names, as pkg/apis/core/helper classifies them.
var standardContainerResources = sets.New("cpu", "memory", "ephemeral-storage")

var standardResources = sets.New("cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
	"requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods",
	"services", "replicationcontrollers", "resourcequotas", "secrets", "persistentvolumeclaims",
	"configmaps", "services.nodeports", "services.loadbalancers", "requests.storage", "storage")

func isHugePages(name string) bool { return strings.HasPrefix(name, "hugepages-") }

func isNativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.Contains(name, "kubernetes.io/")
}

func isOvercommitAllowed(name string) bool { return isNativeResource(name) && !isHugePages(name) }

func validateContainerResourceName(name string, fld *field.Path) field.ErrorList {
	errs := validateQualifiedName(name, fld)
	if len(errs) != 0 {
		return errs
	}
	if !strings.Contains(name, "/") {
		if !standardResources.Has(name) && !isHugePages(name) {
			return field.ErrorList{field.Invalid(fld, name, "must be a standard resource type or fully qualified")}
		}
		if !standardContainerResources.Has(name) && !isHugePages(name) {
			return field.ErrorList{field.Invalid(fld, name, "must be a standard resource for containers")}
		}
	} else if !isNativeResource(name) && strings.HasPrefix(name, "requests.") {
		return field.ErrorList{field.Invalid(fld, name, "doesn't follow extended resource name standard")}
	}
	return nil
}

func validateResourceQuantity(name string, q resource.Quantity, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if isQuantityNegative(q) {
		errs = append(errs, field.Invalid(fld, q.String(), "must be greater than or equal to 0"))
	}
	// Extended resources are counted in whole units.
	if !isNativeResource(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(fld, q, "must be an integer"))
	}
	return errs
}

// validateResources is validateResourceRequirements for containers.
func validateResources(r *corev1.ResourceRequirements, claims sets.Set[string], fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := fld.Child("limits"), fld.Child("requests")
	limCPUMem, reqCPUMem, limHuge, reqHuge := false, false, false, false
	for _, name := range sortedNames(r.Limits) {
		q := r.Limits[name]
		p := limPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(string(name), p)...)
		errs = append(errs, validateResourceQuantity(string(name), q, p)...)
		if isHugePages(string(name)) {
			limHuge = true
		}
		if name == corev1.ResourceCPU || name == corev1.ResourceMemory {
			limCPUMem = true
		}
	}
	for _, name := range sortedNames(r.Requests) {
		q := r.Requests[name]
		p := reqPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(string(name), p)...)
		errs = append(errs, validateResourceQuantity(string(name), q, p)...)
		if lim, ok := r.Limits[name]; ok {
			if q.Cmp(lim) != 0 && !isOvercommitAllowed(string(name)) {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, lim.String())))
			} else if q.Cmp(lim) > 0 {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
			}
		} else if !isOvercommitAllowed(string(name)) {
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
		if isHugePages(string(name)) {
			reqHuge = true
		}
		if name == corev1.ResourceCPU || name == corev1.ResourceMemory {
			reqCPUMem = true
		}
	}
	if !limCPUMem && !reqCPUMem && (reqHuge || limHuge) {
		errs = append(errs, field.Forbidden(fld, "HugePages require cpu or memory"))
	}
	names := sets.New[string]()
	for i, c := range r.Claims {
		p := fld.Child("claims").Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p, ""))
		case names.Has(c.Name + "/" + c.Request):
			errs = append(errs, field.Duplicate(p, c.Name))
		default:
			names.Insert(c.Name + "/" + c.Request)
			if !claims.Has(c.Name) {
				e := field.NotFound(p, c.Name)
				e.Detail = "must be one of the names in pod.spec.resourceClaims"
				if claims.Len() == 0 {
					e.Detail += " which is empty"
				} else {
					e.Detail += ": " + strings.Join(sets.List(claims), ", ")
				}
				errs = append(errs, e)
			}
		}
	}
	return errs
}

func sortedNames(rl corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(rl))
	for n := range rl {
		names = append(names, n)
	}
	return sets.List(sets.New(names...))
}
