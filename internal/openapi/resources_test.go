package openapi

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// testResources is a representative slice of what skiff serves.
func testResources() []Resource {
	core := func(kind, res string, ns bool, subs ...string) Resource {
		return Resource{GVK: schema.GroupVersionKind{Version: "v1", Kind: kind}, Resource: res, Namespaced: ns, Verbs: allVerbs, Subresources: subs}
	}
	g := func(group, kind, res string, ns bool, subs ...string) Resource {
		return Resource{GVK: schema.GroupVersionKind{Group: group, Version: "v1", Kind: kind}, Resource: res, Namespaced: ns, Verbs: allVerbs, Subresources: subs}
	}
	return []Resource{
		core("Pod", "pods", true, "status", "binding", "eviction", "log", "exec", "portforward"),
		core("Service", "services", true, "status"),
		core("Endpoints", "endpoints", true),
		core("ConfigMap", "configmaps", true),
		core("Secret", "secrets", true),
		core("ServiceAccount", "serviceaccounts", true),
		core("Namespace", "namespaces", false, "status"),
		core("Node", "nodes", false, "status"),
		core("Event", "events", true),
		core("PersistentVolumeClaim", "persistentvolumeclaims", true, "status"),
		core("PersistentVolume", "persistentvolumes", false, "status"),
		g("apps", "Deployment", "deployments", true, "status", "scale"),
		g("apps", "ReplicaSet", "replicasets", true, "status", "scale"),
		g("apps", "StatefulSet", "statefulsets", true, "status", "scale"),
		g("apps", "DaemonSet", "daemonsets", true, "status"),
		g("apps", "ControllerRevision", "controllerrevisions", true),
		g("coordination.k8s.io", "Lease", "leases", true),
		g("discovery.k8s.io", "EndpointSlice", "endpointslices", true),
		g("events.k8s.io", "Event", "events", true),
		g("batch", "Job", "jobs", true, "status"),
		g("networking.k8s.io", "Ingress", "ingresses", true, "status"),
		g("rbac.authorization.k8s.io", "Role", "roles", true),
		g("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", false),
		g("policy", "PodDisruptionBudget", "poddisruptionbudgets", true, "status"),
		g("storage.k8s.io", "StorageClass", "storageclasses", false),
	}
}
