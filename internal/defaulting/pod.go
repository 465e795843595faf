package defaulting

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	defaultTerminationGracePeriodSeconds = int64(30)
	defaultSchedulerName                 = "default-scheduler"
	defaultFileMode                      = int32(0o644)
	defaultTokenExpirationSeconds        = int64(3600)
)

// defaultPod is SetObjectDefaults_Pod plus the Pod strategy's status
// defaults (phase Pending, QoS class) and the v1 conversion's syncing of
// deprecated singular fields.
func defaultPod(pod *corev1.Pod) {
	defaultPodSpec(&pod.Spec)
	// Pod-only defaults (SetDefaults_Pod): they would make templates differ
	// from the pods made from them, so templates never get them.
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			requestsFromLimits(&cs[i].Resources)
			if pod.Spec.HostNetwork {
				for j := range cs[i].Ports {
					if cs[i].Ports[j].HostPort == 0 {
						cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
					}
				}
			}
		}
	}
	if pod.Spec.EnableServiceLinks == nil {
		pod.Spec.EnableServiceLinks = new(true)
	}
	if pod.Status.Phase == "" {
		pod.Status.Phase = corev1.PodPending
	}
	if pod.Status.QOSClass == "" {
		pod.Status.QOSClass = podQOS(&pod.Spec)
	}
	syncPodIPs(&pod.Status)
}

// syncPodIPs mirrors the v1<->internal conversion, where only the plural
// fields exist internally and the singular ones are derived from them.
func syncPodIPs(st *corev1.PodStatus) {
	if len(st.PodIPs) == 0 && st.PodIP != "" {
		st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	}
	if len(st.PodIPs) > 0 {
		st.PodIP = st.PodIPs[0].IP
	}
	if len(st.HostIPs) == 0 && st.HostIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: st.HostIP}}
	}
	if len(st.HostIPs) > 0 {
		st.HostIP = st.HostIPs[0].IP
	}
}

func requestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = corev1.ResourceList{}
	}
	for k, v := range r.Limits {
		if _, ok := r.Requests[k]; !ok {
			r.Requests[k] = v.DeepCopy()
		}
	}
}

func defaultPodTemplateSpec(t *corev1.PodTemplateSpec) {
	defaultPodSpec(&t.Spec)
}

// defaultPodSpec is SetDefaults_PodSpec plus everything the generated
// walker visits below a PodSpec.
func defaultPodSpec(s *corev1.PodSpec) {
	if s.DNSPolicy == "" {
		s.DNSPolicy = corev1.DNSClusterFirst
	}
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = new(defaultTerminationGracePeriodSeconds)
	}
	if s.SchedulerName == "" {
		s.SchedulerName = defaultSchedulerName
	}
	// v1 conversion: serviceAccount is the deprecated alias of
	// serviceAccountName and is always written back from it.
	if s.ServiceAccountName == "" {
		s.ServiceAccountName = s.DeprecatedServiceAccount
	}
	s.DeprecatedServiceAccount = s.ServiceAccountName
	for i := range s.Volumes {
		defaultVolume(&s.Volumes[i])
	}
	for i := range s.Containers {
		defaultContainer(&s.Containers[i])
	}
	for i := range s.InitContainers {
		defaultContainer(&s.InitContainers[i])
	}
	for i := range s.EphemeralContainers {
		c := corev1.Container(s.EphemeralContainers[i].EphemeralContainerCommon)
		defaultContainer(&c)
		s.EphemeralContainers[i].EphemeralContainerCommon = corev1.EphemeralContainerCommon(c)
	}
	if s.Overhead != nil {
		roundResourceList(s.Overhead)
	}
	if s.Resources != nil {
		roundResourceList(s.Resources.Limits)
		roundResourceList(s.Resources.Requests)
	}
}

func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		} else {
			c.ImagePullPolicy = corev1.PullIfNotPresent
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
	roundResourceList(c.Resources.Limits)
	roundResourceList(c.Resources.Requests)
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
	if lc := c.Lifecycle; lc != nil {
		if lc.PostStart != nil {
			defaultHTTPGet(lc.PostStart.HTTPGet)
		}
		if lc.PreStop != nil {
			defaultHTTPGet(lc.PreStop.HTTPGet)
		}
	}
}

// roundResourceList is SetDefaults_ResourceList: quantities are rounded up
// to milli precision.
func roundResourceList(rl corev1.ResourceList) {
	for k, v := range rl {
		v.RoundUp(resource.Milli)
		rl[k] = v
	}
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

// imageTag returns the tag the image reference resolves to, "latest" when it
// has neither tag nor digest (as the docker reference parser does).
func imageTag(image string) string {
	ref := image
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
		// A digest without a tag pins the image: no implicit latest.
		if j := strings.LastIndex(ref, ":"); j >= 0 && !strings.Contains(ref[j:], "/") {
			return ref[j+1:]
		}
		return ""
	}
	if j := strings.LastIndex(ref, ":"); j >= 0 && !strings.Contains(ref[j:], "/") {
		return ref[j+1:]
	}
	return "latest"
}

func defaultVolume(v *corev1.Volume) {
	src := &v.VolumeSource
	if isEmptyVolumeSource(src) {
		src.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if s := src.Secret; s != nil && s.DefaultMode == nil {
		s.DefaultMode = new(defaultFileMode)
	}
	if s := src.ConfigMap; s != nil && s.DefaultMode == nil {
		s.DefaultMode = new(defaultFileMode)
	}
	if s := src.DownwardAPI; s != nil {
		if s.DefaultMode == nil {
			s.DefaultMode = new(defaultFileMode)
		}
		for i := range s.Items {
			if fr := s.Items[i].FieldRef; fr != nil && fr.APIVersion == "" {
				fr.APIVersion = "v1"
			}
		}
	}
	if s := src.Projected; s != nil {
		if s.DefaultMode == nil {
			s.DefaultMode = new(defaultFileMode)
		}
		for i := range s.Sources {
			ps := &s.Sources[i]
			if ps.ServiceAccountToken != nil && ps.ServiceAccountToken.ExpirationSeconds == nil {
				ps.ServiceAccountToken.ExpirationSeconds = new(defaultTokenExpirationSeconds)
			}
			if ps.DownwardAPI != nil {
				for j := range ps.DownwardAPI.Items {
					if fr := ps.DownwardAPI.Items[j].FieldRef; fr != nil && fr.APIVersion == "" {
						fr.APIVersion = "v1"
					}
				}
			}
		}
	}
	if s := src.HostPath; s != nil && s.Type == nil {
		s.Type = new(corev1.HostPathUnset)
	}
	if s := src.ISCSI; s != nil && s.ISCSIInterface == "" {
		s.ISCSIInterface = "default"
	}
	if s := src.RBD; s != nil {
		if s.RBDPool == "" {
			s.RBDPool = "rbd"
		}
		if s.RadosUser == "" {
			s.RadosUser = "admin"
		}
		if s.Keyring == "" {
			s.Keyring = "/etc/ceph/keyring"
		}
	}
	if s := src.Ephemeral; s != nil && s.VolumeClaimTemplate != nil {
		defaultPVCSpec(&s.VolumeClaimTemplate.Spec)
	}
}

// isEmptyVolumeSource mirrors ptr.AllPtrFieldsNil on VolumeSource: a volume
// with no source becomes an emptyDir.
func isEmptyVolumeSource(s *corev1.VolumeSource) bool {
	return s.HostPath == nil && s.EmptyDir == nil && s.GCEPersistentDisk == nil &&
		s.AWSElasticBlockStore == nil && s.GitRepo == nil && s.Secret == nil &&
		s.NFS == nil && s.ISCSI == nil && s.Glusterfs == nil &&
		s.PersistentVolumeClaim == nil && s.RBD == nil && s.FlexVolume == nil &&
		s.Cinder == nil && s.CephFS == nil && s.Flocker == nil &&
		s.DownwardAPI == nil && s.FC == nil && s.AzureFile == nil &&
		s.ConfigMap == nil && s.VsphereVolume == nil && s.Quobyte == nil &&
		s.AzureDisk == nil && s.PhotonPersistentDisk == nil && s.Projected == nil &&
		s.PortworxVolume == nil && s.ScaleIO == nil && s.StorageOS == nil &&
		s.CSI == nil && s.Ephemeral == nil && s.Image == nil
}

// podQOS computes the QoS class the Pod strategy stores on create
// (k8s.io/kubernetes/pkg/apis/core/helper/qos.ComputePodQOS, cpu and memory
// only).
func podQOS(s *corev1.PodSpec) corev1.PodQOSClass {
	requests := corev1.ResourceList{}
	limits := corev1.ResourceList{}
	isGuaranteed := true
	all := append(append([]corev1.Container{}, s.Containers...), s.InitContainers...)
	for _, c := range all {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := c.Resources.Requests[name]; ok && q.Sign() > 0 {
				addQuantity(requests, name, q)
			}
			if q, ok := c.Resources.Limits[name]; ok && q.Sign() > 0 {
				addQuantity(limits, name, q)
			}
		}
		_, cpu := c.Resources.Limits[corev1.ResourceCPU]
		_, mem := c.Resources.Limits[corev1.ResourceMemory]
		if !cpu || !mem {
			isGuaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if isGuaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				isGuaranteed = false
				break
			}
		}
	}
	if isGuaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func addQuantity(rl corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	if cur, ok := rl[name]; ok {
		cur.Add(q)
		rl[name] = cur
		return
	}
	rl[name] = q.DeepCopy()
}

// intOrZero reports whether an IntOrString is unset (0 or "").
func intOrZero(v intstr.IntOrString) bool {
	return (v.Type == intstr.Int && v.IntVal == 0) || (v.Type == intstr.String && v.StrVal == "")
}
