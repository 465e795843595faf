package registry

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// serviceAllocations reserves what a Service holds outside its object: a
// ClusterIP from the service CIDR and NodePorts from the node port range,
// as kube-apiserver's service REST storage does.
type serviceAllocations struct {
	ips   *ipAllocator
	ports *portAllocator
}

func serviceOf(obj runtime.Object) *corev1.Service {
	svc, _ := obj.(*corev1.Service)
	return svc
}

func owner(svc *corev1.Service) string { return svc.Namespace + "/" + svc.Name }

// wantsClusterIP: every type but ExternalName, unless headless.
func wantsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

// wantsNodePorts: NodePort services, and LoadBalancers unless they opt out.
func wantsNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

// onCreate allocates for a new Service; undo releases what it took.
func (a *serviceAllocations) onCreate(ctx context.Context, obj runtime.Object) (func(), error) {
	svc := serviceOf(obj)
	if svc == nil {
		return func() {}, nil
	}
	var undo undoList
	if wantsClusterIP(svc) {
		requested := svc.Spec.ClusterIP
		if requested == "" && len(svc.Spec.ClusterIPs) > 0 {
			requested = svc.Spec.ClusterIPs[0]
		}
		ip, err := a.ips.Allocate(ctx, requested, owner(svc))
		if err != nil {
			return undo.run, a.ipError(svc, requested, err)
		}
		undo.add(func() { _ = a.ips.Release(context.Background(), ip) })
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
	} else if svc.Spec.Type == corev1.ServiceTypeExternalName {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
	}
	if wantsNodePorts(svc) {
		if err := a.allocatePorts(ctx, svc, nil, &undo); err != nil {
			return undo.run, err
		}
	}
	return undo.run, nil
}

// onUpdate keeps what the old Service holds, allocates what the new one
// needs in addition, and returns undo (on failure) and commit (on success:
// release what the new one no longer holds).
func (a *serviceAllocations) onUpdate(ctx context.Context, obj, oldObj runtime.Object) (func(), func(), error) {
	svc, old := serviceOf(obj), serviceOf(oldObj)
	noop := func() {}
	if svc == nil || old == nil {
		return noop, noop, nil
	}
	var undo, commit undoList
	// A client that omits clusterIP (kubectl replace of a manifest) keeps
	// the allocated one, as in Kubernetes.
	if wantsClusterIP(svc) && svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) == 0 && old.Spec.ClusterIP != "" && old.Spec.ClusterIP != corev1.ClusterIPNone {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = old.Spec.ClusterIP, old.Spec.ClusterIPs
	}
	oldIP := ""
	if wantsClusterIP(old) {
		oldIP = old.Spec.ClusterIP
	}
	switch {
	case wantsClusterIP(svc) && oldIP == "":
		// ExternalName or headless becomes a ClusterIP service.
		ip, err := a.ips.Allocate(ctx, svc.Spec.ClusterIP, owner(svc))
		if err != nil {
			return undo.run, commit.run, a.ipError(svc, svc.Spec.ClusterIP, err)
		}
		undo.add(func() { _ = a.ips.Release(context.Background(), ip) })
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
	case !wantsClusterIP(svc) && oldIP != "":
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
		}
		commit.add(func() { _ = a.ips.Release(context.Background(), oldIP) })
	}
	if wantsNodePorts(svc) {

		if err := a.allocatePorts(ctx, svc, old, &undo); err != nil {
			return undo.run, commit.run, err
		}
	} else {
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
	}
	dropTypeDependentFields(svc, old)

	kept := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			kept[portKey(p.Protocol, p.NodePort)] = true
		}
	}
	if wantsNodePorts(old) {
		for _, p := range old.Spec.Ports {
			if p.NodePort != 0 && !kept[portKey(p.Protocol, p.NodePort)] {
				proto, port := string(p.Protocol), int(p.NodePort)
				commit.add(func() { _ = a.ports.Release(context.Background(), proto, port) })
			}
		}
	}
	return undo.run, commit.run, nil
}

// onDelete releases everything a deleted Service held.
func (a *serviceAllocations) onDelete(ctx context.Context, obj runtime.Object) {
	svc := serviceOf(obj)
	if svc == nil {
		return
	}
	if wantsClusterIP(svc) {
		_ = a.ips.Release(ctx, svc.Spec.ClusterIP)
	}
	if wantsNodePorts(svc) {
		for _, p := range svc.Spec.Ports {
			_ = a.ports.Release(ctx, string(p.Protocol), int(p.NodePort))
		}
	}
}

// allocatePorts gives every port of svc a NodePort: the one asked for, the
// one the old Service held for the same port, or a free one.
func (a *serviceAllocations) allocatePorts(ctx context.Context, svc, old *corev1.Service, undo *undoList) error {
	held := map[string]int32{}
	if old != nil && wantsNodePorts(old) {
		for _, p := range old.Spec.Ports {
			if p.NodePort != 0 {
				held[portKey(p.Protocol, p.Port)] = p.NodePort
			}
		}
	}
	oldPorts := map[string]bool{}
	for _, np := range held {
		oldPorts[fmt.Sprint(np)] = true
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		if p.NodePort == 0 {
			if np, ok := held[portKey(proto, p.Port)]; ok {
				p.NodePort = np
				continue
			}
		} else if oldPorts[fmt.Sprint(p.NodePort)] {
			continue // already held by this service
		}
		got, err := a.ports.Allocate(ctx, string(proto), int(p.NodePort), owner(svc))
		if err != nil {
			path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
			switch {
			case errors.Is(err, errNotInRange):
				return invalid(svc, field.Invalid(path, p.NodePort, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", a.ports.base, a.ports.base+a.ports.count-1)))
			case errors.Is(err, errAllocated):
				return invalid(svc, field.Invalid(path, p.NodePort, "provided port is already allocated"))
			case errors.Is(err, errFull):
				return apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: range is full"))
			}
			return apierrors.NewInternalError(err)
		}
		p.NodePort = int32(got)
		protoStr, port := string(proto), got
		undo.add(func() { _ = a.ports.Release(context.Background(), protoStr, port) })
	}
	return nil
}

func portKey(proto corev1.Protocol, port int32) string {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	return string(proto) + "/" + fmt.Sprint(port)
}

func (a *serviceAllocations) ipError(svc *corev1.Service, ip string, err error) error {
	path := field.NewPath("spec", "clusterIPs")
	requested := []string{ip}
	switch {
	case errors.Is(err, errNotInRange):
		return invalid(svc, field.Invalid(path, requested, fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, ip, a.ips.cidr)))
	case errors.Is(err, errAllocated):
		return invalid(svc, field.Invalid(path, requested, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", ip)))

	case errors.Is(err, errFull):
		return apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: range is full"))
	}
	return apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: %w", err))
}

func invalid(svc *corev1.Service, errs ...*field.Error) error {
	return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, errs)
}

// undoList collects compensating actions.
type undoList struct{ fns []func() }

func (u *undoList) add(f func()) { u.fns = append(u.fns, f) }

// run runs the actions, newest first.
func (u *undoList) run() {
	for i := len(u.fns) - 1; i >= 0; i-- {
		u.fns[i]()
	}
	u.fns = nil
}

// dropTypeDependentFields clears, on a type change, the fields that only
// the old type may have and that the client left as they were, as
// Kubernetes' service strategy does (so that a NodePort service patched to
// ClusterIP need not also clear externalTrafficPolicy by hand).
func dropTypeDependentFields(svc, old *corev1.Service) {
	if svc.Spec.Type == old.Spec.Type {
		return
	}
	external := func(s *corev1.Service) bool {
		return s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer
	}
	if external(old) && !external(svc) {
		if svc.Spec.ExternalTrafficPolicy == old.Spec.ExternalTrafficPolicy {
			svc.Spec.ExternalTrafficPolicy = ""
		}
		if svc.Spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
			svc.Spec.HealthCheckNodePort = 0
		}
	}
	if old.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		if svc.Spec.AllocateLoadBalancerNodePorts != nil && old.Spec.AllocateLoadBalancerNodePorts != nil &&
			*svc.Spec.AllocateLoadBalancerNodePorts == *old.Spec.AllocateLoadBalancerNodePorts {
			svc.Spec.AllocateLoadBalancerNodePorts = nil
		}
		if svc.Spec.LoadBalancerClass != nil && old.Spec.LoadBalancerClass != nil && *svc.Spec.LoadBalancerClass == *old.Spec.LoadBalancerClass {
			svc.Spec.LoadBalancerClass = nil
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if svc.Spec.IPFamilyPolicy != nil && old.Spec.IPFamilyPolicy != nil && *svc.Spec.IPFamilyPolicy == *old.Spec.IPFamilyPolicy {
			svc.Spec.IPFamilyPolicy = nil
		}
		if len(svc.Spec.IPFamilies) == len(old.Spec.IPFamilies) {
			svc.Spec.IPFamilies = nil
		}
		if svc.Spec.InternalTrafficPolicy != nil && old.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == *old.Spec.InternalTrafficPolicy {
			svc.Spec.InternalTrafficPolicy = nil
		}
	}
}
