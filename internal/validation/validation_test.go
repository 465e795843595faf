package validation

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/internal/defaulting"
)

const (
	subdomainMsg = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	labelMsg     = `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`
)

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default"}
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}}
}

func template() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: podSpec()}
}

func selector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
}

func pod(mut func(*corev1.Pod)) runtime.Object {
	p := &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpec()}
	mut(p)
	return p
}

func deploy(mut func(*appsv1.Deployment)) runtime.Object {
	d := &appsv1.Deployment{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Selector: selector(), Template: template()}}
	mut(d)
	return d
}

func svc(mut func(*corev1.Service)) runtime.Object {
	s := &corev1.Service{ObjectMeta: meta("web"), Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"},
		Ports:    []corev1.ServicePort{{Port: 80}},
	}}
	mut(s)
	return s
}

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestValidCreate(t *testing.T) {
	for _, obj := range []runtime.Object{
		pod(func(*corev1.Pod) {}),
		deploy(func(*appsv1.Deployment) {}),
		&appsv1.ReplicaSet{ObjectMeta: meta("rs"), Spec: appsv1.ReplicaSetSpec{Selector: selector(), Template: template()}},
		&appsv1.DaemonSet{ObjectMeta: meta("ds"), Spec: appsv1.DaemonSetSpec{Selector: selector(), Template: template()}},
		&appsv1.StatefulSet{ObjectMeta: meta("db"), Spec: appsv1.StatefulSetSpec{
			ServiceName: "db", Selector: selector(), Template: func() corev1.PodTemplateSpec {
				t := template()
				t.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
				return t
			}(),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			}}},
		}},
		svc(func(*corev1.Service) {}),
		svc(func(s *corev1.Service) { s.Spec.ClusterIP = "None"; s.Spec.Ports = nil }),
		svc(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "db.example.com."
			s.Spec.Selector = nil
		}),
		svc(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "https", Port: 443}}
		}),
		&corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"a.conf": "x"}},
		&corev1.Secret{ObjectMeta: meta("s"), StringData: map[string]string{"password": "x"}},
		&corev1.Secret{ObjectMeta: meta("tls"), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}},
		&corev1.ServiceAccount{ObjectMeta: meta("default")},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}},
		&corev1.Endpoints{ObjectMeta: meta("web"), Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.1.2.3"}}, Ports: []corev1.EndpointPort{{Port: 80}},
		}}},
		&appsv1.ControllerRevision{ObjectMeta: meta("web-1"), Data: runtime.RawExtension{Raw: []byte(`{}`)}, Revision: 1},
		&corev1.Event{ObjectMeta: meta("e"), InvolvedObject: corev1.ObjectReference{Namespace: "default"}},
	} {
		defaulting.Default(obj)
		if errs := ValidateCreate(obj); len(errs) != 0 {
			t.Errorf("%T: unexpected errors:\n%s", obj, strings.Join(errStrings(errs), "\n"))
		}
	}
}

func TestInvalidCreate(t *testing.T) {
	for name, tc := range map[string]struct {
		obj  runtime.Object
		want []string
	}{
		"pod name": {pod(func(p *corev1.Pod) { p.Name = "Foo" }),
			[]string{`metadata.name: Invalid value: "Foo": ` + subdomainMsg}},
		"no containers": {pod(func(p *corev1.Pod) { p.Spec.Containers = nil }),
			[]string{"spec.containers: Required value"}},
		"image required": {pod(func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }),
			[]string{"spec.containers[0].image: Required value"}},
		"container name": {pod(func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Web" }),
			[]string{`spec.containers[0].name: Invalid value: "Web": ` + labelMsg}},
		"duplicate container": {pod(func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "web", Image: "x"})
		}), []string{`spec.containers[1].name: Duplicate value: "web"`}},
		"port range": {pod(func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 }),
			[]string{"spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"}},
		"protocol": {pod(func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" }),
			[]string{`spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`}},
		"env name": {pod(func(p *corev1.Pod) { p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A=B"}} }),
			[]string{`spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`}},
		"mount unknown volume": {pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}), []string{`spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		"two volume sources": {pod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}}}
		}), []string{"spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"}},
		"duplicate volume": {pod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v"}, {Name: "v"}}
		}), []string{`spec.volumes[1].name: Duplicate value: "v"`}},
		"restart policy": {pod(func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }),
			[]string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
		"dns policy": {pod(func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" }),
			[]string{`spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`}},
		"requests over limits": {pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}
		}), []string{`spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`}},
		"probe handler": {pod(func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe = &corev1.Probe{} }),
			[]string{"spec.containers[0].livenessProbe: Required value: must specify a handler type"}},
		"node selector": {pod(func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd!"} }),
			[]string{`spec.nodeSelector: Invalid value: "ssd!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},

		"selector mismatch": {deploy(func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "x"} }),
			[]string{`spec.template.metadata.labels: Invalid value: {"app":"x"}: ` + "`selector` does not match template `labels`"}},
		"selector required": {deploy(func(d *appsv1.Deployment) { d.Spec.Selector = nil }),
			// As upstream: a nil selector selects nothing, so the template
			// does not match it either.
			[]string{"spec.selector: Required value", "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`"}},
		"empty selector": {deploy(func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }),
			[]string{"spec.selector: Invalid value: {}: empty selector is invalid for deployment"}},
		"negative replicas": {deploy(func(d *appsv1.Deployment) { d.Spec.Replicas = new(int32(-1)) }),
			[]string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
		"restart never": {deploy(func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }),
			[]string{`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`}},
		"surge and unavailable zero": {deploy(func(d *appsv1.Deployment) {
			zero := intstr.FromInt32(0)
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &zero, MaxUnavailable: &zero}
		}), []string{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"}},
		"bad percent": {deploy(func(d *appsv1.Deployment) {
			p := intstr.FromString("120%")
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: &p}
		}), []string{`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater than 100%`}},
		"progress deadline": {deploy(func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 700
		}), []string{"spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"}},
		"active deadline": {deploy(func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = new(int64(5)) }),
			[]string{"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"}},

		"service name": {svc(func(s *corev1.Service) { s.Name = "1web" }),
			[]string{`metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`}},
		"ports required": {svc(func(s *corev1.Service) { s.Spec.Ports = nil }),
			[]string{"spec.ports: Required value"}},
		"port names": {svc(func(s *corev1.Service) { s.Spec.Ports = []corev1.ServicePort{{Port: 80}, {Name: "b", Port: 81}} }),
			[]string{"spec.ports[0].name: Required value"}},
		"duplicate port name": {svc(func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "a", Port: 81}}
		}), []string{`spec.ports[1].name: Duplicate value: "a"`}},
		"service port range": {svc(func(s *corev1.Service) { s.Spec.Ports[0].Port = 0; s.Spec.Ports[0].TargetPort = intstr.FromInt32(80) }),
			[]string{"spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"}},
		"service type": {svc(func(s *corev1.Service) { s.Spec.Type = "Internal" }),
			[]string{`spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`}},
		"externalName required": {svc(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName }),
			[]string{"spec.externalName: Required value"}},
		"clusterIP": {svc(func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.300" }),
			[]string{`spec.clusterIPs[0]: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`}},
		"nodePort on ClusterIP": {svc(func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30000 }),
			[]string{"spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"}},
		"affinity timeout": {svc(func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: new(int32(0))}}
		}), []string{"spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400"}},

		"configmap key": {&corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"a b": "x"}},
			[]string{`data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`}},
		"configmap size": {&corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"a": strings.Repeat("x", 1<<20+1)}},
			[]string{"[]: Too long: may not be more than 1048576 bytes"}},
		"tls secret": {&corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil}},
			[]string{"data[tls.key]: Required value"}},
		"namespace name": {&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a.b"}},
			[]string{`metadata.name: Invalid value: "a.b": must not contain dots`}},
		"generateName": {&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "Foo-", Name: "foo-abcde"}},
			[]string{`metadata.generateName: Invalid value: "Foo-": ` + subdomainMsg}},
		"controllerrevision": {&appsv1.ControllerRevision{ObjectMeta: meta("r"), Revision: -1},
			[]string{"data: Required value: data is mandatory", "revision: Invalid value: -1: must be greater than or equal to 0"}},
		"statefulset empty selector": {&appsv1.StatefulSet{ObjectMeta: meta("db"), Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{}, Template: template()}},
			[]string{"spec.selector: Invalid value: {}: empty selector is invalid for statefulset"}},
		"daemonset surge and unavailable": {&appsv1.DaemonSet{ObjectMeta: meta("ds"), Spec: appsv1.DaemonSetSpec{
			Selector: selector(), Template: template(), UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxSurge: new(intstr.FromInt32(1))}}}},
			[]string{"spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"}},
		"pvc storage": {&corev1.PersistentVolumeClaim{ObjectMeta: meta("c"), Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{"ReadWriteSometimes"}}},
			[]string{`spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`,
				"spec.resources[storage]: Required value"}},
	} {
		defaulting.Default(tc.obj)
		got := errStrings(ValidateCreate(tc.obj))
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got: %q\nwant: %q", name, got, tc.want)
		}
	}
}

func TestUpdates(t *testing.T) {
	base := func() *appsv1.Deployment {
		d := deploy(func(*appsv1.Deployment) {}).(*appsv1.Deployment)
		defaulting.Default(d)
		d.ResourceVersion = "1"
		return d
	}
	for name, tc := range map[string]struct {
		obj, old runtime.Object
		want     []string
	}{
		"deployment scale ok": {func() runtime.Object { d := base(); d.Spec.Replicas = new(int32(3)); return d }(), base(), nil},
		"deployment selector": {func() runtime.Object {
			d := base()
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "x"}}
			d.Spec.Template.Labels["tier"] = "x"
			return d
		}(), base(), []string{`spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable`}},
		"name change": {func() runtime.Object { d := base(); d.Name = "other"; return d }(), base(),
			[]string{`metadata.name: Invalid value: "other": field is immutable`}},
		"statefulset serviceName": {
			&appsv1.StatefulSet{ObjectMeta: meta("db"), Spec: appsv1.StatefulSetSpec{ServiceName: "b", Selector: selector(), Template: template()}},
			&appsv1.StatefulSet{ObjectMeta: meta("db"), Spec: appsv1.StatefulSetSpec{ServiceName: "a", Selector: selector(), Template: template()}},
			[]string{"spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"}},
		"immutable configmap": {
			&corev1.ConfigMap{ObjectMeta: meta("cm"), Immutable: new(true), Data: map[string]string{"a": "2"}},
			&corev1.ConfigMap{ObjectMeta: meta("cm"), Immutable: new(true), Data: map[string]string{"a": "1"}},
			[]string{"data: Forbidden: field is immutable when `immutable` is set"}},
		"secret type": {
			&corev1.Secret{ObjectMeta: meta("s"), Type: "x/y"},
			&corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeOpaque},
			[]string{`type: Invalid value: "x/y": field is immutable`}},
		"service clusterIP": {
			svc(func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.2" }),
			svc(func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.1" }),
			[]string{`spec.clusterIPs[0]: Invalid value: ["10.0.0.2"]: may not change once set`}},
		"pod image ok": {
			pod(func(p *corev1.Pod) {
				p.Spec.Containers[0].Image = "nginx:2"
				p.Spec.Containers[0].ImagePullPolicy = corev1.PullAlways
			}),
			pod(func(p *corev1.Pod) {}), nil},
		"pod add container": {
			pod(func(p *corev1.Pod) {
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "b"})
			}),
			pod(func(p *corev1.Pod) {}),
			[]string{"spec.containers: Forbidden: pod updates may not add or remove containers"}},
	} {
		defaulting.Default(tc.obj)
		defaulting.Default(tc.old)
		withRV(tc.obj)
		withRV(tc.old)
		got := errStrings(ValidateUpdate(tc.obj, tc.old))
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got: %q\nwant: %q", name, got, tc.want)
		}
	}

	// Other pod spec changes are refused with upstream's headline.
	p := pod(func(p *corev1.Pod) { p.Spec.Containers[0].Name = "api" })
	o := pod(func(p *corev1.Pod) {})
	defaulting.Default(p)
	defaulting.Default(o)
	withRV(p)
	withRV(o)
	errs := ValidateUpdate(p, o)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,") {
		t.Errorf("pod spec update: %q", errStrings(errs))
	}
}

func TestStatusUpdate(t *testing.T) {
	d := deploy(func(*appsv1.Deployment) {}).(*appsv1.Deployment)
	defaulting.Default(d)
	d.ResourceVersion = "1"
	n := d.DeepCopy()
	n.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 2}
	got := errStrings(ValidateStatusUpdate(n, d))
	want := []string{"status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q want %q", got, want)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	defaulting.Default(ns)
	ns.ResourceVersion = "1"
	bad := ns.DeepCopy()
	bad.Status.Phase = corev1.NamespaceTerminating
	got = errStrings(ValidateStatusUpdate(bad, ns))
	want = []string{`status.Phase: Invalid value: "Terminating": may only be 'Active' if ` + "`deletionTimestamp` is empty"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestNilSafety(t *testing.T) {
	_ = ValidateCreate(nil)
	_ = ValidateCreate((*corev1.Pod)(nil))
	_ = ValidateUpdate((*corev1.Pod)(nil), &corev1.Pod{})
	_ = ValidateUpdate(&corev1.Pod{}, nil)
	_ = ValidateStatusUpdate((*corev1.ConfigMap)(nil), (*corev1.ConfigMap)(nil))
	_ = ValidateStatusUpdate(&corev1.ConfigMap{}, &corev1.Secret{})
	// Undefaulted objects full of nils must not panic either.
	for _, o := range []runtime.Object{&corev1.Pod{}, &appsv1.Deployment{}, &appsv1.StatefulSet{}, &appsv1.DaemonSet{},
		&appsv1.ReplicaSet{}, &corev1.Service{}, &corev1.PersistentVolume{}} {
		_ = ValidateCreate(o)
		_ = ValidateUpdate(o, o.DeepCopyObject())
		_ = ValidateStatusUpdate(o, o.DeepCopyObject())
	}
}

func withRV(obj runtime.Object) {
	if m := objectMeta(obj); m != nil {
		m.ResourceVersion = "1"
	}
}
