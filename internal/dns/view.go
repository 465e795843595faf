package dns

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// Index names on the informers' indexers.
const (
	indexClusterIP = "dns.clusterIP"
	indexService   = "dns.service" // slice → "ns/service"
	indexAddress   = "dns.address" // slice → each address
	indexPodIP     = "dns.podIP"
)

// informerView is the View over informer caches. Reads go straight to the
// thread-safe indexers, so it is always as fresh as the informers.
type informerView struct {
	services cache.Indexer
	slices   cache.Indexer
	pods     cache.Indexer
	synced   []cache.InformerSynced
}

func newInformerView(f informers.SharedInformerFactory) (*informerView, error) {
	svcInf := f.Core().V1().Services().Informer()
	sliceInf := f.Discovery().V1().EndpointSlices().Informer()
	podInf := f.Core().V1().Pods().Informer()
	err := svcInf.AddIndexers(cache.Indexers{indexClusterIP: func(obj any) ([]string, error) {
		s, ok := obj.(*corev1.Service)
		if !ok || s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
			return nil, nil
		}
		return s.Spec.ClusterIPs, nil
	}})
	if err != nil {
		return nil, fmt.Errorf("service indexers: %w", err)
	}
	err = sliceInf.AddIndexers(cache.Indexers{
		indexService: func(obj any) ([]string, error) {
			s, ok := obj.(*discovery.EndpointSlice)
			if !ok || s.Labels[discovery.LabelServiceName] == "" {
				return nil, nil
			}
			return []string{s.Namespace + "/" + s.Labels[discovery.LabelServiceName]}, nil
		},
		indexAddress: func(obj any) ([]string, error) {
			s, ok := obj.(*discovery.EndpointSlice)
			if !ok {
				return nil, nil
			}
			var out []string
			for _, e := range s.Endpoints {
				out = append(out, e.Addresses...)
			}
			return out, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("endpointslice indexers: %w", err)
	}
	err = podInf.AddIndexers(cache.Indexers{indexPodIP: func(obj any) ([]string, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Status.PodIP == "" {
			return nil, nil
		}
		return []string{p.Namespace + "/" + p.Status.PodIP}, nil
	}})
	if err != nil {
		return nil, fmt.Errorf("pod indexers: %w", err)
	}
	return &informerView{
		services: svcInf.GetIndexer(),
		slices:   sliceInf.GetIndexer(),
		pods:     podInf.GetIndexer(),
		synced:   []cache.InformerSynced{svcInf.HasSynced, sliceInf.HasSynced, podInf.HasSynced},
	}, nil
}

func slimService(s *corev1.Service) *Service {
	out := &Service{Namespace: s.Namespace, Name: s.Name, ClusterIP: s.Spec.ClusterIP}
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		out.ExternalName = s.Spec.ExternalName
		out.ClusterIP = ""
	}
	for _, p := range s.Spec.Ports {
		out.Ports = append(out.Ports, Port{Name: p.Name, Protocol: string(defaultProto(p.Protocol)), Port: p.Port})
	}
	return out
}

func defaultProto(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func (v *informerView) Service(ns, name string) *Service {
	obj, ok, err := v.services.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	return slimService(obj.(*corev1.Service))
}

// sliceEndpoints converts one slice's endpoints.
func sliceEndpoints(s *discovery.EndpointSlice, only string) []Endpoint {
	if s.AddressType != discovery.AddressTypeIPv4 {
		return nil
	}
	ports := make([]Port, 0, len(s.Ports))
	for _, p := range s.Ports {
		if p.Port == nil {
			continue
		}
		pp := Port{Port: *p.Port, Protocol: "TCP"}
		if p.Name != nil {
			pp.Name = *p.Name
		}
		if p.Protocol != nil {
			pp.Protocol = string(*p.Protocol)
		}
		ports = append(ports, pp)
	}
	var out []Endpoint
	for _, e := range s.Endpoints {
		if len(e.Addresses) == 0 || (only != "" && e.Addresses[0] != only) {
			continue
		}
		ep := Endpoint{
			IP: e.Addresses[0],
			// A nil ready condition means unknown, to be read as ready.
			Ready: e.Conditions.Ready == nil || *e.Conditions.Ready,
			Ports: ports,
		}
		if e.Hostname != nil {
			ep.Hostname = *e.Hostname
		}
		out = append(out, ep)
	}
	return out
}

func (v *informerView) Endpoints(ns, name string) []Endpoint {
	objs, err := v.slices.ByIndex(indexService, ns+"/"+name)
	if err != nil {
		return nil
	}
	var out []Endpoint
	for _, o := range objs {
		out = append(out, sliceEndpoints(o.(*discovery.EndpointSlice), "")...)
	}
	return out
}

func (v *informerView) NamespaceKnown(ns string) bool {
	keys, err := v.services.IndexKeys(cache.NamespaceIndex, ns)
	if err == nil && len(keys) > 0 {
		return true
	}
	keys, err = v.pods.IndexKeys(cache.NamespaceIndex, ns)
	return err == nil && len(keys) > 0
}

func (v *informerView) PodIP(ns, ip string) bool {
	keys, err := v.pods.IndexKeys(indexPodIP, ns+"/"+ip)
	return err == nil && len(keys) > 0
}

func (v *informerView) ServicesByIP(ip string) []*Service {
	objs, err := v.services.ByIndex(indexClusterIP, ip)
	if err != nil {
		return nil
	}
	out := make([]*Service, 0, len(objs))
	for _, o := range objs {
		out = append(out, slimService(o.(*corev1.Service)))
	}
	return out
}

func (v *informerView) EndpointsByIP(ip string) []ServiceEndpoint {
	objs, err := v.slices.ByIndex(indexAddress, ip)
	if err != nil {
		return nil
	}
	var out []ServiceEndpoint
	for _, o := range objs {
		s := o.(*discovery.EndpointSlice)
		svc := v.Service(s.Namespace, s.Labels[discovery.LabelServiceName])
		if svc == nil {
			continue
		}
		for _, e := range sliceEndpoints(s, ip) {
			out = append(out, ServiceEndpoint{Service: svc, Endpoint: e})
		}
	}
	return out
}
