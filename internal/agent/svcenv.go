package agent

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// masterServices are the services of the default namespace whose
// variables every pod gets, whatever its namespace and enableServiceLinks
// (the kubelet's rule).
var masterServices = map[string]bool{"kubernetes": true}

// serviceEnv is the kubelet's service environment of a pod in ns: the
// services of ns that have a cluster IP (when enableServiceLinks), plus
// the master services of default; a service of ns hides a master service
// of the same name.
func serviceEnv(services []*corev1.Service, ns string, enableServiceLinks bool) []envVar {
	chosen := map[string]*corev1.Service{}
	for _, s := range services {
		if !serviceIPSet(s) {
			continue
		}
		switch {
		case s.Namespace == metav1.NamespaceDefault && masterServices[s.Name]:
			if _, ok := chosen[s.Name]; !ok {
				chosen[s.Name] = s
			}
		case s.Namespace == ns && enableServiceLinks:
			chosen[s.Name] = s
		}
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []envVar
	for _, n := range names {
		out = append(out, serviceVars(chosen[n])...)
	}
	return out
}

func serviceIPSet(s *corev1.Service) bool {
	return s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone && len(s.Spec.Ports) > 0
}

// envName makes a service or port name into a variable name part.
func envName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}

// serviceVars are the variables of one service, named as
// k8s.io/kubernetes/pkg/kubelet/envvars names them.
func serviceVars(s *corev1.Service) []envVar {
	prefix := envName(s.Name)
	ip := s.Spec.ClusterIP
	out := []envVar{
		{prefix + "_SERVICE_HOST", ip},
		{prefix + "_SERVICE_PORT", strconv.Itoa(int(s.Spec.Ports[0].Port))},
	}
	for _, p := range s.Spec.Ports {
		if p.Name != "" {
			out = append(out, envVar{prefix + "_SERVICE_PORT_" + envName(p.Name), strconv.Itoa(int(p.Port))})
		}
	}
	// Docker link variables; Docker special-cases the first port.
	for i, p := range s.Spec.Ports {
		proto := string(corev1.ProtocolTCP)
		if p.Protocol != "" {
			proto = string(p.Protocol)
		}
		lower := strings.ToLower(proto)
		url := fmt.Sprintf("%s://%s", lower, net.JoinHostPort(ip, strconv.Itoa(int(p.Port))))
		if i == 0 {
			out = append(out, envVar{prefix + "_PORT", url})
		}
		pp := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.Port, strings.ToUpper(proto))
		out = append(out,
			envVar{pp, url},
			envVar{pp + "_PROTO", lower},
			envVar{pp + "_PORT", strconv.Itoa(int(p.Port))},
			envVar{pp + "_ADDR", ip},
		)
	}
	return out
}
