package validation

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/internal/defaulting"
)

// FuzzDefaultValidate decodes arbitrary JSON into the most written kinds,
// defaults and validates it every way the API server does; nothing may
// panic.
func FuzzDefaultValidate(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"metadata":{"name":"p","namespace":"default"},"spec":{"containers":[{"name":"web","image":"nginx","ports":[{"containerPort":80}]}]}}`,
		`{"metadata":{"name":"web"},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"i"}]}},"strategy":{"rollingUpdate":{"maxSurge":"0%","maxUnavailable":0}}}}`,
		`{"spec":{"type":"ExternalName","externalName":"a.b.","clusterIPs":["None","1.2.3.4"],"ports":[{"port":70000,"targetPort":"x"}]}}`,
		`{"spec":{"type":"LoadBalancer","sessionAffinity":"ClientIP","sessionAffinityConfig":{},"ipFamilies":["IPv9"],"externalTrafficPolicy":"Local","healthCheckNodePort":-1}}`,
		`{"spec":{"volumes":[{"name":"v","projected":{"sources":[{"serviceAccountToken":{"path":""}},{}]}},{"name":"e","ephemeral":{}}],"containers":[{"lifecycle":{"preStop":{"sleep":{"seconds":5}}},"livenessProbe":{"grpc":{"port":1}},"resources":{"limits":{"hugepages-2Mi":"1Mi","example.com/gpu":"1.5"},"requests":{"cpu":"-1"}},"env":[{"name":"X","valueFrom":{}}],"envFrom":[{}],"volumeMounts":[{"name":"v","mountPropagation":"Bidirectional","recursiveReadOnly":"Enabled"}],"volumeDevices":[{"name":"v"}]}],"initContainers":[{"restartPolicy":"Never"}],"ephemeralContainers":[{"targetContainerName":"x"}],"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchFields":[{"key":"x","operator":"Gt"}]}]}}},"dnsPolicy":"None","tolerations":[{"operator":"Exists","value":"x","tolerationSeconds":3}],"topologySpreadConstraints":[{},{}],"securityContext":{"seccompProfile":{"type":"Localhost"}},"os":{}}}`,
		`{"status":{"podIPs":[{"ip":"1.1.1.1"},{"ip":"1.1.1.1"}],"hostIPs":[{"ip":"x"}]},"spec":{"hostNetwork":true,"containers":[{"ports":[{"containerPort":1,"hostPort":2}]}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, newObj := range []func() runtime.Object{
			func() runtime.Object { return &corev1.Pod{} },
			func() runtime.Object { return &appsv1.Deployment{} },
			func() runtime.Object { return &corev1.Service{} },
		} {
			obj := newObj()
			if err := json.Unmarshal(data, obj); err != nil {
				continue
			}
			raw := obj.DeepCopyObject()
			_ = ValidateCreate(raw)
			defaulting.Default(obj)
			_ = ValidateCreate(obj)
			_ = ValidateUpdate(obj, raw)
			_ = ValidateUpdate(raw, obj)
			_ = ValidateStatusUpdate(obj, raw)
		}
	})
}
