package printers

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	discoveryv1beta1 "k8s.io/api/discovery/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// loadBalancerWidth is where the EXTERNAL-IP of a LoadBalancer service is
// clipped in narrow output. kube-apiserver always builds tables as wide, so
// the clipping never applies to tables it serves; the constant documents
// why the wide path is the one taken below.
const loadBalancerWidth = 16

func servicePrinter() Printer {
	spec := corev1.ServiceSpec{}.SwaggerDoc()
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Type", "string", spec["type"]),
			col("Cluster-IP", "string", spec["clusterIP"]),
			col("External-IP", "string", spec["externalIPs"]),
			col("Port(s)", "string", spec["ports"]),
			ageColumn(),
			wide(col("Selector", "string", spec["selector"])),
		},
		serviceCells,
	)
}

func serviceCells(svc *corev1.Service, now time.Time) ([]interface{}, error) {
	clusterIP := "<none>"
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	} else if svc.Spec.ClusterIP != "" {
		clusterIP = svc.Spec.ClusterIP
	}
	ports := servicePorts(svc.Spec.Ports)
	if ports == "" {
		ports = "<none>"
	}
	return []interface{}{
		svc.Name,
		string(svc.Spec.Type),
		clusterIP,
		serviceExternalIP(svc, true),
		ports,
		since(svc.CreationTimestamp, now),
		labels.FormatLabels(svc.Spec.Selector),
	}, nil
}

func serviceExternalIP(svc *corev1.Service, wide bool) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		lbIPs := loadBalancerStatus(svc.Status.LoadBalancer, wide)
		if len(svc.Spec.ExternalIPs) > 0 {
			var results []string
			if lbIPs != "" {
				results = append(results, strings.Split(lbIPs, ",")...)
			}
			results = append(results, svc.Spec.ExternalIPs...)
			return strings.Join(results, ",")
		}
		if lbIPs != "" {
			return lbIPs
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// loadBalancerStatus lists the distinct ingress IPs (or hostnames when an
// ingress has no IP), sorted, comma separated.
func loadBalancerStatus(s corev1.LoadBalancerStatus, wide bool) string {
	seen := map[string]bool{}
	var result []string
	for _, ing := range s.Ingress {
		v := ing.IP
		if v == "" {
			v = ing.Hostname
		}
		if v != "" && !seen[v] {
			seen[v] = true
			result = append(result, v)
		}
	}
	sort.Strings(result)
	r := strings.Join(result, ",")
	if !wide && len(r) > loadBalancerWidth {
		r = r[0:loadBalancerWidth-3] + "..."
	}
	return r
}

func servicePorts(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

func endpointsPrinter() Printer {
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Endpoints", "string", corev1.Endpoints{}.SwaggerDoc()["subsets"]),
			ageColumn(),
		},
		func(ep *corev1.Endpoints, now time.Time) ([]interface{}, error) {
			return []interface{}{ep.Name, formatEndpoints(ep), since(ep.CreationTimestamp, now)}, nil
		},
	)
}

// formatEndpoints lists up to three ip:port pairs (bare IPs for subsets
// without ports) and how many more there are.
func formatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	const max = 3
	var list []string
	more := false
	count := 0
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		if len(ss.Ports) == 0 {
			// Headless services may have no ports.
			count += len(ss.Addresses)
			for _, addr := range ss.Addresses {
				if len(list) == max {
					more = true
					break
				}
				list = append(list, addr.IP)
			}
			continue
		}
		for _, port := range ss.Ports {
			count += len(ss.Addresses)
			for _, addr := range ss.Addresses {
				if len(list) == max {
					more = true
					break
				}
				list = append(list, net.JoinHostPort(addr.IP, strconv.Itoa(int(port.Port))))
			}
		}
	}
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, count-max)
	}
	return ret
}

func endpointSlicePrinter() Printer {
	// Upstream documents these columns from discovery/v1beta1.
	doc := discoveryv1beta1.EndpointSlice{}.SwaggerDoc()
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("AddressType", "string", doc["addressType"]),
			col("Ports", "string", doc["ports"]),
			col("Endpoints", "string", doc["endpoints"]),
			ageColumn(),
		},
		func(es *discoveryv1.EndpointSlice, now time.Time) ([]interface{}, error) {
			return []interface{}{
				es.Name,
				string(es.AddressType),
				formatSlicePorts(es.Ports),
				formatSliceEndpoints(es.Endpoints),
				since(es.CreationTimestamp, now),
			}, nil
		},
	)
}

func formatSlicePorts(ports []discoveryv1.EndpointPort) string {
	const max = 3
	var list []string
	more := false
	count := 0
	for _, p := range ports {
		if len(list) < max {
			n := "*"
			if p.Port != nil {
				n = strconv.Itoa(int(*p.Port))
			} else if p.Name != nil {
				n = *p.Name
			}
			list = append(list, n)
		} else if len(list) == max {
			more = true
		}
		count++
	}
	return listWithMore(list, more, count, max)
}

func formatSliceEndpoints(endpoints []discoveryv1.Endpoint) string {
	const max = 3
	var list []string
	more := false
	count := 0
	for _, ep := range endpoints {
		for _, addr := range ep.Addresses {
			if len(list) < max {
				list = append(list, addr)
			} else if len(list) == max {
				more = true
			}
			count++
		}
	}
	return listWithMore(list, more, count, max)
}
