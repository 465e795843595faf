package defaulting

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{
		Name:  "web",
		Image: "nginx:1.27",
		Ports: []corev1.ContainerPort{{ContainerPort: 80}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)},
		}},
		Env: []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("500m"),
		}},
	}}, Volumes: []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
		{Name: "scratch"},
	}}
}

func deployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       podSpec(),
			},
		},
	}
}

func TestDeploymentDefaults(t *testing.T) {
	d := deployment()
	Default(d)
	s := d.Spec
	if *s.Replicas != 1 || *s.RevisionHistoryLimit != 10 || *s.ProgressDeadlineSeconds != 600 {
		t.Errorf("replicas/revisionHistoryLimit/progressDeadlineSeconds = %d/%d/%d", *s.Replicas, *s.RevisionHistoryLimit, *s.ProgressDeadlineSeconds)
	}
	if s.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
		s.Strategy.RollingUpdate.MaxSurge.String() != "25%" || s.Strategy.RollingUpdate.MaxUnavailable.String() != "25%" {
		t.Errorf("strategy = %+v", s.Strategy)
	}
	ps := s.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyAlways || ps.DNSPolicy != corev1.DNSClusterFirst ||
		*ps.TerminationGracePeriodSeconds != 30 || ps.SchedulerName != "default-scheduler" || ps.SecurityContext == nil {
		t.Errorf("pod spec defaults missing: %+v", ps)
	}
	if ps.EnableServiceLinks != nil {
		t.Errorf("enableServiceLinks is a Pod-only default, got %v on a template", *ps.EnableServiceLinks)
	}
	c := ps.Containers[0]
	if c.ImagePullPolicy != corev1.PullIfNotPresent || c.TerminationMessagePath != "/dev/termination-log" ||
		c.TerminationMessagePolicy != corev1.TerminationMessageReadFile || c.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("container defaults: %+v", c)
	}
	if c.Resources.Requests != nil {
		t.Errorf("requests copied from limits on a template: %v", c.Resources.Requests)
	}
	p := c.ReadinessProbe
	if p.TimeoutSeconds != 1 || p.PeriodSeconds != 10 || p.SuccessThreshold != 1 || p.FailureThreshold != 3 ||
		p.HTTPGet.Scheme != corev1.URISchemeHTTP || p.HTTPGet.Path != "/" {
		t.Errorf("probe defaults: %+v", p)
	}
	if c.Env[0].ValueFrom.FieldRef.APIVersion != "v1" {
		t.Errorf("fieldRef apiVersion = %q", c.Env[0].ValueFrom.FieldRef.APIVersion)
	}
	if *ps.Volumes[0].ConfigMap.DefaultMode != 0o644 || ps.Volumes[1].EmptyDir == nil {
		t.Errorf("volume defaults: %+v", ps.Volumes)
	}
}

func TestImagePullPolicy(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"nginx":                       corev1.PullAlways,
		"nginx:latest":                corev1.PullAlways,
		"nginx:1.27":                  corev1.PullIfNotPresent,
		"localhost:5000/nginx":        corev1.PullAlways,
		"localhost:5000/nginx:v1":     corev1.PullIfNotPresent,
		"nginx@sha256:" + sixtyFour(): corev1.PullIfNotPresent,
		"":                            corev1.PullAlways,
	} {
		c := corev1.Container{Image: image}
		defaultContainer(&c)
		if c.ImagePullPolicy != want {
			t.Errorf("%q: pull policy %s, want %s", image, c.ImagePullPolicy, want)
		}
	}
}

func sixtyFour() string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

func TestPodDefaults(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: podSpec()}
	pod.Spec.HostNetwork = true
	Default(pod)
	c := pod.Spec.Containers[0]
	if got := c.Resources.Requests[corev1.ResourceCPU]; got.String() != "500m" {
		t.Errorf("requests.cpu = %s, want 500m from limits", got.String())
	}
	if c.Ports[0].HostPort != 80 {
		t.Errorf("hostNetwork hostPort = %d", c.Ports[0].HostPort)
	}
	if pod.Spec.EnableServiceLinks == nil || !*pod.Spec.EnableServiceLinks {
		t.Errorf("enableServiceLinks not defaulted")
	}
	if pod.Status.Phase != corev1.PodPending || pod.Status.QOSClass != corev1.PodQOSBurstable {
		t.Errorf("status = %+v", pod.Status)
	}
}

func TestQOS(t *testing.T) {
	rl := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	for name, tc := range map[string]struct {
		req, lim corev1.ResourceList
		want     corev1.PodQOSClass
	}{
		"besteffort": {nil, nil, corev1.PodQOSBestEffort},
		"guaranteed": {rl("1", "1Gi"), rl("1", "1Gi"), corev1.PodQOSGuaranteed},
		"burstable":  {rl("1", ""), nil, corev1.PodQOSBurstable},
		"unequal":    {rl("1", "1Gi"), rl("2", "1Gi"), corev1.PodQOSBurstable},
	} {
		s := corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: tc.req, Limits: tc.lim}}}}
		if got := podQOS(&s); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
}

func TestServiceDefaults(t *testing.T) {
	svc := &corev1.Service{Spec: corev1.ServiceSpec{
		Type:      corev1.ServiceTypeNodePort,
		ClusterIP: "10.0.0.5",
		Ports:     []corev1.ServicePort{{Port: 80}, {Port: 443, TargetPort: intstr.FromString("https")}},
	}}
	Default(svc)
	s := svc.Spec
	if s.SessionAffinity != corev1.ServiceAffinityNone || s.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster ||
		*s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster || *s.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack {
		t.Errorf("service spec = %+v", s)
	}
	if s.Ports[0].Protocol != corev1.ProtocolTCP || s.Ports[0].TargetPort != intstr.FromInt32(80) || s.Ports[1].TargetPort.StrVal != "https" {
		t.Errorf("ports = %+v", s.Ports)
	}
	if len(s.ClusterIPs) != 1 || s.ClusterIPs[0] != "10.0.0.5" || s.IPFamilies[0] != corev1.IPv4Protocol {
		t.Errorf("clusterIPs = %v families = %v", s.ClusterIPs, s.IPFamilies)
	}

	cip := &corev1.Service{Spec: corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityClientIP}}
	Default(cip)
	if cip.Spec.Type != corev1.ServiceTypeClusterIP || cip.Spec.ExternalTrafficPolicy != "" ||
		*cip.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds != 10800 {
		t.Errorf("clusterIP service = %+v", cip.Spec)
	}
	en := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
	Default(en)
	if en.Spec.InternalTrafficPolicy != nil || en.Spec.IPFamilyPolicy != nil || len(en.Spec.IPFamilies) != 0 {
		t.Errorf("ExternalName service got IP defaults: %+v", en.Spec)
	}
}

func TestOtherDefaults(t *testing.T) {
	sec := &corev1.Secret{StringData: map[string]string{"a": "b"}}
	Default(sec)
	if sec.Type != corev1.SecretTypeOpaque || string(sec.Data["a"]) != "b" || sec.StringData != nil {
		t.Errorf("secret = %+v", sec)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}
	Default(ns)
	if ns.Status.Phase != corev1.NamespaceActive || ns.Labels["kubernetes.io/metadata.name"] != "team" {
		t.Errorf("namespace = %+v", ns)
	}
	pvc := &corev1.PersistentVolumeClaim{}
	Default(pvc)
	if *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pvc.Status.Phase != corev1.ClaimPending {
		t.Errorf("pvc = %+v", pvc)
	}
	pv := &corev1.PersistentVolume{}
	Default(pv)
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Errorf("pv = %+v", pv.Spec)
	}
	es := &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{}}}
	Default(es)
	if *es.Ports[0].Protocol != corev1.ProtocolTCP || *es.Ports[0].Name != "" {
		t.Errorf("endpointslice ports = %+v", es.Ports)
	}
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 1}}}}}
	Default(ep)
	if ep.Subsets[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("endpoints ports = %+v", ep.Subsets[0].Ports)
	}
	sc := &storagev1.StorageClass{}
	Default(sc)
	if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
		t.Errorf("storageclass = %+v", sc)
	}
	ss := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{}}}}
	Default(ss)
	if ss.Spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement || *ss.Spec.UpdateStrategy.RollingUpdate.Partition != 0 ||
		*ss.Spec.Replicas != 1 || *ss.Spec.RevisionHistoryLimit != 10 ||
		ss.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType ||
		ss.Spec.VolumeClaimTemplates[0].Status.Phase != corev1.ClaimPending {
		t.Errorf("statefulset = %+v", ss.Spec)
	}
	ds := &appsv1.DaemonSet{}
	Default(ds)
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru.MaxUnavailable.IntValue() != 1 ||
		ru.MaxSurge.IntValue() != 0 || *ds.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("daemonset = %+v", ds.Spec)
	}
	rs := &appsv1.ReplicaSet{}
	Default(rs)
	if *rs.Spec.Replicas != 1 {
		t.Errorf("replicaset replicas = %d", *rs.Spec.Replicas)
	}
}

// TestTemplatesAgree checks the property `kubectl rollout undo` relies on:
// the ReplicaSet made from a defaulted Deployment's template, defaulted
// again, has exactly the Deployment's template.
func TestTemplatesAgree(t *testing.T) {
	d := deployment()
	Default(d)
	rs := &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: *d.Spec.Template.DeepCopy()}}
	Default(rs)
	if diff := cmp.Diff(d.Spec.Template, rs.Spec.Template); diff != "" {
		t.Errorf("templates differ (-deployment +replicaset):\n%s", diff)
	}
}

func TestIdempotent(t *testing.T) {
	objs := []runtime.Object{
		deployment(),
		&corev1.Pod{Spec: podSpec()},
		&corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}, SessionAffinity: corev1.ServiceAffinityClientIP}},
		&corev1.Secret{StringData: map[string]string{"k": "v"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}},
		&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{Spec: podSpec()}}},
		&appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: podSpec()}}},
		&corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1.0001")}}},
	}
	for _, o := range objs {
		Default(o)
		once := o.DeepCopyObject()
		Default(o)
		if diff := cmp.Diff(once, o); diff != "" {
			t.Errorf("%T: second Default changed the object:\n%s", o, diff)
		}
	}
}

func TestNilAndUnknown(t *testing.T) {
	Default(nil)
	Default((*corev1.Pod)(nil))
	Default((*appsv1.Deployment)(nil))
	Default(&metav1.Status{})
}
