package endpointslice

import (
	"maps"
	"slices"
	"strings"

	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sliceMeta is the metadata every slice of one owner carries.
type sliceMeta struct {
	Namespace string
	// Prefix is the generateName of new slices ("<service>-").
	Prefix string
	Labels map[string]string
	// Annotations are set on slices that are written anyway; a difference
	// alone does not cause a write.
	Annotations map[string]string
	Owner       metav1.OwnerReference
	// Placeholder keeps one empty slice when nothing is wanted.
	Placeholder bool
}

// plan is what to write, in that order: creates and updates before
// deletes, so that endpoints being moved never vanish in between.
type plan struct {
	Create []*discovery.EndpointSlice
	Update []*discovery.EndpointSlice
	Delete []*discovery.EndpointSlice
}

func (p plan) empty() bool { return len(p.Create)+len(p.Update)+len(p.Delete) == 0 }

// reconcile plans how to turn existing (the owner's slices) into want,
// writing as few slices as it can: endpoints stay in the slice they are
// in, new ones go first into slices written anyway, then into a slice with
// room, then into new slices of at most max endpoints. With nothing wanted
// one empty placeholder slice remains.
func reconcile(existing []*discovery.EndpointSlice, want groups, meta sliceMeta, max int) plan {
	var p plan
	existing = slices.Clone(existing)
	slices.SortFunc(existing, func(a, b *discovery.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })

	byKey := map[string]map[string]*discovery.Endpoint{} // port key → endpoint key → wanted
	for pk, g := range want {
		m := make(map[string]*discovery.Endpoint, len(g.Endpoints))
		for i := range g.Endpoints {
			m[endpointKey(&g.Endpoints[i])] = &g.Endpoints[i]
		}
		byKey[pk] = m
	}
	placed := map[string]bool{} // port key + "|" + endpoint key

	updating := map[string][]*discovery.EndpointSlice{}  // port key → slices being written
	unchanged := map[string][]*discovery.EndpointSlice{} // port key → slices left as they are
	for _, s := range existing {
		pk := portsKey(s.Ports)
		g := want[pk]
		if g == nil || s.AddressType != discovery.AddressTypeIPv4 {
			p.Delete = append(p.Delete, s)
			continue
		}
		var kept []discovery.Endpoint
		changed := false
		for i := range s.Endpoints {
			ek := endpointKey(&s.Endpoints[i])
			w := byKey[pk][ek]
			if w == nil || placed[pk+"|"+ek] {
				changed = true
				continue
			}
			placed[pk+"|"+ek] = true
			if !equality.Semantic.DeepEqual(s.Endpoints[i], *w) {
				changed = true
			}
			kept = append(kept, *w)
		}
		if len(kept) == 0 {
			p.Delete = append(p.Delete, s)
			continue
		}
		if !changed && maps.Equal(s.Labels, meta.Labels) {
			unchanged[pk] = append(unchanged[pk], s)
			continue
		}
		u := s.DeepCopy()
		u.Endpoints = kept
		u.Ports = g.Ports
		setMeta(u, meta)
		p.Update = append(p.Update, u)
		updating[pk] = append(updating[pk], u)
	}

	for _, pk := range slices.Sorted(maps.Keys(want)) {
		g := want[pk]
		var rest []discovery.Endpoint
		for i := range g.Endpoints {
			if !placed[pk+"|"+endpointKey(&g.Endpoints[i])] {
				rest = append(rest, g.Endpoints[i])
			}
		}
		fill := func(s *discovery.EndpointSlice) {
			n := min(max-len(s.Endpoints), len(rest))
			if n > 0 {
				s.Endpoints = append(s.Endpoints, rest[:n]...)
				rest = rest[n:]
			}
		}
		for _, s := range updating[pk] {
			fill(s)
		}
		for _, s := range unchanged[pk] {
			if len(rest) == 0 {
				break
			}
			if len(s.Endpoints) < max {
				u := s.DeepCopy()
				setMeta(u, meta)
				fill(u)
				p.Update = append(p.Update, u)
			}
		}
		for len(rest) > 0 {
			s := newSlice(meta, g.Ports)
			fill(s)
			p.Create = append(p.Create, s)
		}
	}

	if want.size() == 0 && meta.Placeholder {
		p = placeholder(p, existing, meta)
	}
	return p
}

// placeholder keeps exactly one empty slice when nothing is wanted, so
// that consumers can tell "no endpoints" from "not processed yet".
func placeholder(p plan, existing []*discovery.EndpointSlice, meta sliceMeta) plan {
	for i, s := range p.Delete {
		if len(s.Endpoints) == 0 && len(s.Ports) == 0 && s.AddressType == discovery.AddressTypeIPv4 && maps.Equal(s.Labels, meta.Labels) {
			p.Delete = slices.Delete(slices.Clone(p.Delete), i, i+1)
			return p
		}
	}
	if len(p.Delete) > 0 && p.Delete[0].AddressType == discovery.AddressTypeIPv4 {
		u := p.Delete[0].DeepCopy()
		u.Endpoints, u.Ports = nil, nil
		setMeta(u, meta)
		p.Delete = p.Delete[1:]
		p.Update = append(p.Update, u)
		return p
	}
	p.Create = append(p.Create, newSlice(meta, nil))
	return p
}

func newSlice(meta sliceMeta, ports []discovery.EndpointPort) *discovery.EndpointSlice {
	s := &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    meta.Prefix,
			Namespace:       meta.Namespace,
			OwnerReferences: []metav1.OwnerReference{meta.Owner},
		},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       ports,
	}
	setMeta(s, meta)
	return s
}

func setMeta(s *discovery.EndpointSlice, meta sliceMeta) {
	s.Labels = maps.Clone(meta.Labels)
	if len(meta.Annotations) > 0 {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		maps.Copy(s.Annotations, meta.Annotations)
	}
}
