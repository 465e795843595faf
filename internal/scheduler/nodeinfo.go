package scheduler

import (
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// PodInfo is a pod with what the scheduler derives from it once:
// requests, host ports, owner and parsed affinity terms. Read-only once
// built.
type PodInfo struct {
	Pod      *v1.Pod
	Requests Resources
	// NonZero are the cpu and memory requests used for scoring.
	NonZero Resources
	Ports   []hostPort
	// Owner is the UID of the controller owner, empty for bare pods.
	Owner types.UID

	RequiredAffinity     []affinityTerm
	RequiredAntiAffinity []affinityTerm
	// requiredNodeAffinity covers nodeSelector and required node affinity.
	requiredNodeAffinity nodeaffinity.RequiredNodeAffinity
	preferredNodeTerms   *nodeaffinity.PreferredSchedulingTerms
}

// hostPort is one host port a pod takes on its node.
type hostPort struct {
	Protocol v1.Protocol
	IP       string
	Port     int32
}

// affinityTerm is a pod (anti-)affinity term with its selectors parsed.
type affinityTerm struct {
	Selector labels.Selector
	// Namespaces the term applies to; nil with allNamespaces means all.
	Namespaces    map[string]bool
	AllNamespaces bool
	TopologyKey   string
}

// matches reports whether pod falls under the term.
func (t *affinityTerm) matches(pod *v1.Pod) bool {
	if !t.AllNamespaces && !t.Namespaces[pod.Namespace] {
		return false
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

// NewPodInfo derives a PodInfo. Malformed selectors in affinity terms
// match nothing, as in kube-scheduler (validation rejects them anyway).
func NewPodInfo(pod *v1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Requests: PodRequests(pod)}
	pi.NonZero = nonZeroRequests(pod, pi.Requests)
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			for _, p := range cs[i].Ports {
				if p.HostPort <= 0 {
					continue
				}
				proto := p.Protocol
				if proto == "" {
					proto = v1.ProtocolTCP
				}
				ip := p.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				pi.Ports = append(pi.Ports, hostPort{Protocol: proto, IP: ip, Port: p.HostPort})
			}
		}
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		pi.Owner = ref.UID
	}
	if a := pod.Spec.Affinity; a != nil {
		if a.PodAffinity != nil {
			pi.RequiredAffinity = parseTerms(pod, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		}
		if a.PodAntiAffinity != nil {
			pi.RequiredAntiAffinity = parseTerms(pod, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		}
		if a.NodeAffinity != nil && len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
			// An error means an invalid term; it then scores nothing.
			pi.preferredNodeTerms, _ = nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
		}
	}
	pi.requiredNodeAffinity = nodeaffinity.GetRequiredNodeAffinity(pod)
	return pi
}

func parseTerms(pod *v1.Pod, terms []v1.PodAffinityTerm) []affinityTerm {
	out := make([]affinityTerm, 0, len(terms))
	for _, t := range terms {
		sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
		if err != nil || t.LabelSelector == nil {
			sel = labels.Nothing()
		}
		at := affinityTerm{Selector: sel, TopologyKey: t.TopologyKey}
		switch {
		case t.NamespaceSelector != nil && len(t.NamespaceSelector.MatchLabels) == 0 && len(t.NamespaceSelector.MatchExpressions) == 0:
			// An empty namespace selector selects every namespace.
			at.AllNamespaces = true
		case len(t.Namespaces) > 0:
			at.Namespaces = map[string]bool{}
			for _, ns := range t.Namespaces {
				at.Namespaces[ns] = true
			}
		default:
			at.Namespaces = map[string]bool{pod.Namespace: true}
		}
		out = append(out, at)
	}
	return out
}

// NodeInfo is a node with the pods assigned (or assumed) on it and their
// totals. A NodeInfo handed out in a snapshot is never modified: the
// cache changes a clone and swaps it in.
type NodeInfo struct {
	Node *v1.Node
	Pods []*PodInfo
	// Allocatable is node.status.allocatable.
	Allocatable Resources
	// Requested sums the pods' requests; NonZeroRequested their scoring
	// requests.
	Requested        Resources
	NonZeroRequested Resources
	// UsedPorts counts the host ports taken.
	UsedPorts map[hostPort]int
	// OwnerCounts counts pods by controller owner UID.
	OwnerCounts map[types.UID]int
	// PodsWithRequiredAntiAffinity are the pods here with required
	// anti-affinity terms, which every incoming pod must respect.
	PodsWithRequiredAntiAffinity []*PodInfo
}

// NewNodeInfo builds a NodeInfo for node with pods on it.
func NewNodeInfo(node *v1.Node, pods ...*PodInfo) *NodeInfo {
	ni := &NodeInfo{}
	ni.setNode(node)
	for _, p := range pods {
		ni.addPod(p)
	}
	return ni
}

// Name is the node's name, or "" before the Node object is known.
func (n *NodeInfo) Name() string {
	if n.Node == nil {
		return ""
	}
	return n.Node.Name
}

func (n *NodeInfo) setNode(node *v1.Node) {
	n.Node = node
	if node != nil {
		n.Allocatable = resourcesFromList(node.Status.Allocatable)
	} else {
		n.Allocatable = Resources{}
	}
}

// clone copies n so that the copy can be changed.
func (n *NodeInfo) clone() *NodeInfo {
	c := &NodeInfo{
		Node:             n.Node,
		Pods:             append([]*PodInfo(nil), n.Pods...),
		Allocatable:      n.Allocatable,
		Requested:        n.Requested.Clone(),
		NonZeroRequested: n.NonZeroRequested.Clone(),
		PodsWithRequiredAntiAffinity: append([]*PodInfo(nil),
			n.PodsWithRequiredAntiAffinity...),
	}
	if len(n.UsedPorts) > 0 {
		c.UsedPorts = make(map[hostPort]int, len(n.UsedPorts))
		for k, v := range n.UsedPorts {
			c.UsedPorts[k] = v
		}
	}
	if len(n.OwnerCounts) > 0 {
		c.OwnerCounts = make(map[types.UID]int, len(n.OwnerCounts))
		for k, v := range n.OwnerCounts {
			c.OwnerCounts[k] = v
		}
	}
	return c
}

func (n *NodeInfo) addPod(p *PodInfo) {
	n.Pods = append(n.Pods, p)
	n.Requested.Add(p.Requests)
	n.NonZeroRequested.Add(p.NonZero)
	for _, hp := range p.Ports {
		if n.UsedPorts == nil {
			n.UsedPorts = map[hostPort]int{}
		}
		n.UsedPorts[hp]++
	}
	if p.Owner != "" {
		if n.OwnerCounts == nil {
			n.OwnerCounts = map[types.UID]int{}
		}
		n.OwnerCounts[p.Owner]++
	}
	if len(p.RequiredAntiAffinity) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, p)
	}
}

// removePod removes the pod with p's UID; it reports whether it was there.
func (n *NodeInfo) removePod(uid types.UID) bool {
	for i, q := range n.Pods {
		if q.Pod.UID != uid {
			continue
		}
		n.Pods = append(n.Pods[:i:i], n.Pods[i+1:]...)
		n.Requested.Sub(q.Requests)
		n.NonZeroRequested.Sub(q.NonZero)
		for _, hp := range q.Ports {
			if n.UsedPorts[hp]--; n.UsedPorts[hp] <= 0 {
				delete(n.UsedPorts, hp)
			}
		}
		if q.Owner != "" {
			if n.OwnerCounts[q.Owner]--; n.OwnerCounts[q.Owner] <= 0 {
				delete(n.OwnerCounts, q.Owner)
			}
		}
		for j, a := range n.PodsWithRequiredAntiAffinity {
			if a.Pod.UID == uid {
				n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity[:j:j], n.PodsWithRequiredAntiAffinity[j+1:]...)
				break
			}
		}
		return true
	}
	return false
}
