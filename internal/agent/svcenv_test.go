package agent

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func svc(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}
}

func TestServiceEnv(t *testing.T) {
	services := []*corev1.Service{
		svc("default", "kubernetes", "10.0.0.1", corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}),
		svc("app", "redis-primary", "10.0.0.11",
			corev1.ServicePort{Name: "redis", Port: 6379},
			corev1.ServicePort{Name: "metrics-udp", Port: 9121, Protocol: corev1.ProtocolUDP}),
		svc("app", "headless", corev1.ClusterIPNone, corev1.ServicePort{Port: 80}),
		svc("app", "external", "", corev1.ServicePort{Port: 80}),
		svc("other", "elsewhere", "10.0.0.12", corev1.ServicePort{Port: 80}),
	}
	kube := map[string]string{
		"KUBERNETES_SERVICE_HOST":       "10.0.0.1",
		"KUBERNETES_SERVICE_PORT":       "443",
		"KUBERNETES_SERVICE_PORT_HTTPS": "443",
		"KUBERNETES_PORT":               "tcp://10.0.0.1:443",
		"KUBERNETES_PORT_443_TCP":       "tcp://10.0.0.1:443",
		"KUBERNETES_PORT_443_TCP_PROTO": "tcp",
		"KUBERNETES_PORT_443_TCP_PORT":  "443",
		"KUBERNETES_PORT_443_TCP_ADDR":  "10.0.0.1",
	}
	redis := map[string]string{
		"REDIS_PRIMARY_SERVICE_HOST":             "10.0.0.11",
		"REDIS_PRIMARY_SERVICE_PORT":             "6379",
		"REDIS_PRIMARY_SERVICE_PORT_REDIS":       "6379",
		"REDIS_PRIMARY_SERVICE_PORT_METRICS_UDP": "9121",
		"REDIS_PRIMARY_PORT":                     "tcp://10.0.0.11:6379",
		"REDIS_PRIMARY_PORT_6379_TCP":            "tcp://10.0.0.11:6379",
		"REDIS_PRIMARY_PORT_6379_TCP_PROTO":      "tcp",
		"REDIS_PRIMARY_PORT_6379_TCP_PORT":       "6379",
		"REDIS_PRIMARY_PORT_6379_TCP_ADDR":       "10.0.0.11",
		"REDIS_PRIMARY_PORT_9121_UDP":            "udp://10.0.0.11:9121",
		"REDIS_PRIMARY_PORT_9121_UDP_PROTO":      "udp",
		"REDIS_PRIMARY_PORT_9121_UDP_PORT":       "9121",
		"REDIS_PRIMARY_PORT_9121_UDP_ADDR":       "10.0.0.11",
	}
	union := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		ns    string
		links bool
		svcs  []*corev1.Service
		want  map[string]string
	}{
		{"namespace services and kubernetes", "app", true, services, union(kube, redis)},
		{"links off keeps kubernetes", "app", false, services, kube},
		{"other namespace", "empty", true, services, kube},
		{"local service hides the master one", "app", true, append(services[1:2:2], svc("app", "kubernetes", "10.0.0.99", corev1.ServicePort{Port: 80}), services[0]),
			union(redis, map[string]string{
				"KUBERNETES_SERVICE_HOST": "10.0.0.99", "KUBERNETES_SERVICE_PORT": "80",
				"KUBERNETES_PORT": "tcp://10.0.0.99:80", "KUBERNETES_PORT_80_TCP": "tcp://10.0.0.99:80",
				"KUBERNETES_PORT_80_TCP_PROTO": "tcp", "KUBERNETES_PORT_80_TCP_PORT": "80", "KUBERNETES_PORT_80_TCP_ADDR": "10.0.0.99",
			})},
		{"ipv6", "v6", true, []*corev1.Service{svc("v6", "db", "fd00::1", corev1.ServicePort{Port: 5432})}, map[string]string{
			"DB_SERVICE_HOST": "fd00::1", "DB_SERVICE_PORT": "5432", "DB_PORT": "tcp://[fd00::1]:5432",
			"DB_PORT_5432_TCP": "tcp://[fd00::1]:5432", "DB_PORT_5432_TCP_PROTO": "tcp", "DB_PORT_5432_TCP_PORT": "5432", "DB_PORT_5432_TCP_ADDR": "fd00::1",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, v := range serviceEnv(tc.svcs, tc.ns, tc.links) {
				if _, dup := got[v.name]; dup {
					t.Errorf("duplicate %s", v.name)
				}
				got[v.name] = v.value
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for k := range got {
				if _, ok := tc.want[k]; !ok {
					t.Errorf("unexpected %s=%s", k, got[k])
				}
			}
		})
	}
}

func TestServiceEnvPrecedence(t *testing.T) {
	src := &envSource{pod: &corev1.Pod{}, base: []envVar{{"A_SERVICE_HOST", "10.0.0.5"}, {"A_SERVICE_PORT", "80"}}}
	c := &corev1.Container{Env: []corev1.EnvVar{
		{Name: "A_SERVICE_PORT", Value: "8080"},
		{Name: "URL", Value: "http://$(A_SERVICE_HOST):$(A_SERVICE_PORT)"},
	}}
	vars, err := src.containerEnv(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vars {
		got[v.name] = v.value
	}
	if got["A_SERVICE_PORT"] != "8080" || got["A_SERVICE_HOST"] != "10.0.0.5" || got["URL"] != "http://10.0.0.5:8080" {
		t.Errorf("env = %v", got)
	}
	if len(vars) != 3 {
		t.Errorf("vars = %v", vars)
	}
}
