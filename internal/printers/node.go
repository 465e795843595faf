package printers

import (
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// labelNodeRolePrefix marks a role with a node-role.kubernetes.io/<role> label.
	labelNodeRolePrefix = "node-role.kubernetes.io/"
	// nodeLabelRole names a role with a kubernetes.io/role=<role> label.
	nodeLabelRole = "kubernetes.io/role"
)

func nodePrinter() Printer {
	info := corev1.NodeSystemInfo{}.SwaggerDoc()
	addresses := corev1.NodeStatus{}.SwaggerDoc()["addresses"]
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Status", "string", "The status of the node"),
			col("Roles", "string", "The roles of the node"),
			ageColumn(),
			col("Version", "string", info["kubeletVersion"]),
			wide(col("Internal-IP", "string", addresses)),
			wide(col("External-IP", "string", addresses)),
			wide(col("OS-Image", "string", info["osImage"])),
			wide(col("Kernel-Version", "string", info["kernelVersion"])),
			wide(col("Container-Runtime", "string", info["containerRuntimeVersion"])),
		},
		nodeCells,
	)
}

func nodeCells(node *corev1.Node, now time.Time) ([]interface{}, error) {
	// Only the Ready condition is shown; the last one of that type wins.
	var readyCond *corev1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			readyCond = &node.Status.Conditions[i]
		}
	}
	var status []string
	switch {
	case readyCond == nil:
		status = append(status, "Unknown")
	case readyCond.Status == corev1.ConditionTrue:
		status = append(status, string(corev1.NodeReady))
	default:
		status = append(status, "Not"+string(corev1.NodeReady))
	}
	if node.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}

	roles := strings.Join(nodeRoles(node), ",")
	if roles == "" {
		roles = "<none>"
	}
	ni := node.Status.NodeInfo
	return []interface{}{
		node.Name,
		strings.Join(status, ","),
		roles,
		since(node.CreationTimestamp, now),
		ni.KubeletVersion,
		nodeAddress(node, corev1.NodeInternalIP),
		nodeAddress(node, corev1.NodeExternalIP),
		orUnknown(ni.OSImage),
		orUnknown(ni.KernelVersion),
		orUnknown(ni.ContainerRuntimeVersion),
	}, nil
}

// nodeRoles returns the sorted, distinct roles named by
// node-role.kubernetes.io/<role> label keys and kubernetes.io/role values.
func nodeRoles(node *corev1.Node) []string {
	set := map[string]bool{}
	for k, v := range node.Labels {
		switch {
		case strings.HasPrefix(k, labelNodeRolePrefix):
			if role := strings.TrimPrefix(k, labelNodeRolePrefix); role != "" {
				set[role] = true
			}
		case k == nodeLabelRole && v != "":
			set[v] = true
		}
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

// nodeAddress returns the first address of the given type, or "<none>".
func nodeAddress(node *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range node.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}
