package scheduler

// interPodState is what the inter-pod affinity filter needs to know about
// the whole cluster for one incoming pod, computed once per pod in
// O(pods) so that the per-node check is O(terms).
type interPodState struct {
	// affinity[i] holds the topology values (of term i's key) of nodes
	// running a pod that term i selects.
	affinity []map[string]bool
	// selfAffinity: no pod anywhere matches the pod's affinity terms but
	// the pod matches them itself, so it may start a group (the first
	// replica of a set with affinity to itself).
	selfAffinity bool
	// antiAffinity[i] holds the topology values term i forbids.
	antiAffinity []map[string]bool
	// existing maps topology key → values where an existing pod's required
	// anti-affinity forbids the incoming pod.
	existing map[string]map[string]bool
}

// newInterPodState walks the snapshot once. It returns nil when neither
// the pod nor any existing pod has required inter-pod terms, so that the
// common case costs nothing.
func newInterPodState(p *PodInfo, nodes []*NodeInfo) *interPodState {
	anyExisting := false
	for _, n := range nodes {
		if len(n.PodsWithRequiredAntiAffinity) > 0 {
			anyExisting = true
			break
		}
	}
	if !anyExisting && len(p.RequiredAffinity) == 0 && len(p.RequiredAntiAffinity) == 0 {
		return nil
	}
	s := &interPodState{
		affinity:     make([]map[string]bool, len(p.RequiredAffinity)),
		antiAffinity: make([]map[string]bool, len(p.RequiredAntiAffinity)),
		existing:     map[string]map[string]bool{},
	}
	for i := range s.affinity {
		s.affinity[i] = map[string]bool{}
	}
	for i := range s.antiAffinity {
		s.antiAffinity[i] = map[string]bool{}
	}
	matchedAny := false
	for _, n := range nodes {
		nodeLabels := n.Node.Labels
		for _, existing := range n.PodsWithRequiredAntiAffinity {
			for _, t := range existing.RequiredAntiAffinity {
				if v, ok := nodeLabels[t.TopologyKey]; ok && t.matches(p.Pod) {
					if s.existing[t.TopologyKey] == nil {
						s.existing[t.TopologyKey] = map[string]bool{}
					}
					s.existing[t.TopologyKey][v] = true
				}
			}
		}
		if len(p.RequiredAffinity) == 0 && len(p.RequiredAntiAffinity) == 0 {
			continue
		}
		for _, q := range n.Pods {
			for i, t := range p.RequiredAffinity {
				if v, ok := nodeLabels[t.TopologyKey]; ok && t.matches(q.Pod) {
					s.affinity[i][v] = true
					matchedAny = true
				}
			}
			for i, t := range p.RequiredAntiAffinity {
				if v, ok := nodeLabels[t.TopologyKey]; ok && t.matches(q.Pod) {
					s.antiAffinity[i][v] = true
				}
			}
		}
	}
	if len(p.RequiredAffinity) > 0 && !matchedAny {
		s.selfAffinity = true
		for _, t := range p.RequiredAffinity {
			if !t.matches(p.Pod) {
				s.selfAffinity = false
			}
		}
	}
	return s
}

// filterInterPod checks required pod affinity and anti-affinity of the
// incoming pod and the required anti-affinity of pods already placed,
// for any topology key (kubernetes.io/hostname is the common one). A node
// without the topology key label never satisfies affinity (unless the pod
// starts its own group) and is never excluded by anti-affinity.
func (s *interPodState) filter(p *PodInfo, n *NodeInfo) []string {
	if s == nil {
		return nil
	}
	nodeLabels := n.Node.Labels
	for i, t := range p.RequiredAffinity {
		if s.selfAffinity {
			break
		}
		if v, ok := nodeLabels[t.TopologyKey]; !ok || !s.affinity[i][v] {
			return []string{reasonAffinity}
		}
	}
	for i, t := range p.RequiredAntiAffinity {
		if v, ok := nodeLabels[t.TopologyKey]; ok && s.antiAffinity[i][v] {
			return []string{reasonAntiAffinity}
		}
	}
	for key, values := range s.existing {
		if v, ok := nodeLabels[key]; ok && values[v] {
			return []string{reasonExistingAntiAffin}
		}
	}
	return nil
}
