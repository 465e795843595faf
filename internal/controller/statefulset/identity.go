package statefulset

import (
	"fmt"
	"regexp"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-dev/skiff/internal/controller/podcontrol"
)

var podKind = corev1.SchemeGroupVersion.WithKind("Pod")

// podNameRE splits "<set>-<ordinal>".
var podNameRE = regexp.MustCompile(`(.*)-([0-9]+)$`)

// parentAndOrdinal returns the set name and ordinal a pod name encodes;
// ordinal -1 when it encodes none.
func parentAndOrdinal(name string) (string, int) {
	m := podNameRE.FindStringSubmatch(name)
	if len(m) != 3 {
		return "", -1
	}
	n, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return "", -1
	}
	return m[1], int(n)
}

func ordinalOf(pod *corev1.Pod) int { _, o := parentAndOrdinal(pod.Name); return o }

// isMemberOf reports whether pod's name says it belongs to set.
func isMemberOf(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, _ := parentAndOrdinal(pod.Name)
	return parent == set.Name
}

func podName(set *appsv1.StatefulSet, ordinal int) string {
	return fmt.Sprintf("%s-%d", set.Name, ordinal)
}

// claimName is "<claim template>-<set>-<ordinal>".
func claimName(set *appsv1.StatefulSet, claim *corev1.PersistentVolumeClaim, ordinal int) string {
	return fmt.Sprintf("%s-%s-%d", claim.Name, set.Name, ordinal)
}

func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func replicas(set *appsv1.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

func endOrdinal(set *appsv1.StatefulSet) int { return startOrdinal(set) + replicas(set) - 1 }

func inOrdinalRange(pod *corev1.Pod, set *appsv1.StatefulSet) bool {
	o := ordinalOf(pod)
	return o >= startOrdinal(set) && o <= endOrdinal(set)
}

// identityMatches reports whether pod has the name, namespace and labels
// its ordinal gives it in set.
func identityMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, o := parentAndOrdinal(pod.Name)
	return o >= 0 && parent == set.Name && pod.Name == podName(set, o) && pod.Namespace == set.Namespace &&
		pod.Labels[appsv1.StatefulSetPodNameLabel] == pod.Name && pod.Labels[appsv1.PodIndexLabel] == strconv.Itoa(o)
}

// updateIdentity sets pod's name, namespace and identity labels.
func updateIdentity(set *appsv1.StatefulSet, pod *corev1.Pod) {
	o := ordinalOf(pod)
	pod.Name = podName(set, o)
	pod.Namespace = set.Namespace
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.StatefulSetPodNameLabel] = pod.Name
	pod.Labels[appsv1.PodIndexLabel] = strconv.Itoa(o)
}

// claimsFor returns the claims of pod by template name: named
// "<template>-<set>-<ordinal>", labelled with the set's selector labels.
func claimsFor(set *appsv1.StatefulSet, pod *corev1.Pod) map[string]corev1.PersistentVolumeClaim {
	o := ordinalOf(pod)
	out := make(map[string]corev1.PersistentVolumeClaim, len(set.Spec.VolumeClaimTemplates))
	for i := range set.Spec.VolumeClaimTemplates {
		c := set.Spec.VolumeClaimTemplates[i].DeepCopy()
		c.Name = claimName(set, &set.Spec.VolumeClaimTemplates[i], o)
		c.Namespace = set.Namespace
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		if set.Spec.Selector != nil {
			for k, v := range set.Spec.Selector.MatchLabels {
				c.Labels[k] = v
			}
		}
		out[set.Spec.VolumeClaimTemplates[i].Name] = *c
	}
	return out
}

// storageMatches reports whether pod mounts its own claim for every
// template under the template's name.
func storageMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	o := ordinalOf(pod)
	if o < 0 {
		return false
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		v, ok := vols[t.Name]
		if !ok || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claimName(set, t, o) {
			return false
		}
	}
	return true
}

// updateStorage makes pod's volumes refer to its claims, replacing
// volumes of the same name and keeping the others. Claim volumes come
// first, in template order.
func updateStorage(set *appsv1.StatefulSet, pod *corev1.Pod) {
	claims := claimsFor(set, pod)
	vols := make([]corev1.Volume, 0, len(claims)+len(pod.Spec.Volumes))
	for i := range set.Spec.VolumeClaimTemplates {
		name := set.Spec.VolumeClaimTemplates[i].Name
		vols = append(vols, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claims[name].Name},
		}})
	}
	for _, v := range pod.Spec.Volumes {
		if _, ok := claims[v.Name]; !ok {
			vols = append(vols, v)
		}
	}
	pod.Spec.Volumes = vols
}

// newPod is the pod of set at ordinal: named "<set>-<ordinal>", hostname
// its name and subdomain the governing service (so that DNS answers
// <pod>.<service>.<ns>.svc), identity labels, its claims mounted.
func newPod(set *appsv1.StatefulSet, ordinal int) *corev1.Pod {
	pod := podcontrol.FromTemplate(&set.Spec.Template, set.Name, metav1.NewControllerRef(set, controllerKind))
	pod.Name = podName(set, ordinal)
	updateIdentity(set, pod)
	pod.Spec.Hostname = pod.Name
	pod.Spec.Subdomain = set.Spec.ServiceName
	updateStorage(set, pod)
	return pod
}

// newVersionedPod is the pod at ordinal at the revision it should run:
// below the partition, the current revision; else the update revision.
func newVersionedPod(currentSet, updateSet *appsv1.StatefulSet, currentRevision, updateRevision string, ordinal int) *corev1.Pod {
	s := currentSet.Spec.UpdateStrategy
	if s.Type == appsv1.RollingUpdateStatefulSetStrategyType &&
		(s.RollingUpdate == nil && ordinal < startOrdinal(currentSet)+int(currentSet.Status.CurrentReplicas) ||
			s.RollingUpdate != nil && s.RollingUpdate.Partition != nil && ordinal < startOrdinal(currentSet)+int(*s.RollingUpdate.Partition)) {
		p := newPod(currentSet, ordinal)
		p.Labels[appsv1.StatefulSetRevisionLabel] = currentRevision
		return p
	}
	p := newPod(updateSet, ordinal)
	p.Labels[appsv1.StatefulSetRevisionLabel] = updateRevision
	return p
}

func podRevision(pod *corev1.Pod) string { return pod.Labels[appsv1.StatefulSetRevisionLabel] }

func isCreated(p *corev1.Pod) bool     { return p.Status.Phase != "" }
func isTerminating(p *corev1.Pod) bool { return p.DeletionTimestamp != nil }
func isRunningAndReady(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && podcontrol.IsReady(p)
}
func isHealthy(p *corev1.Pod) bool { return isRunningAndReady(p) && !isTerminating(p) }

// retentionPolicy is the set's claim retention policy, Retain/Retain
// when unset.
func retentionPolicy(set *appsv1.StatefulSet) appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	p := appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	if r := set.Spec.PersistentVolumeClaimRetentionPolicy; r != nil {
		if r.WhenDeleted != "" {
			p.WhenDeleted = r.WhenDeleted
		}
		if r.WhenScaled != "" {
			p.WhenScaled = r.WhenScaled
		}
	}
	return p
}

func matchesRef(ref *metav1.OwnerReference, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	return ref.APIVersion == gvk.GroupVersion().String() && ref.Kind == gvk.Kind && ref.Name == obj.GetName()
}

func hasOwnerRef(target, owner metav1.Object) bool {
	for _, r := range target.GetOwnerReferences() {
		if r.UID == owner.GetUID() {
			return true
		}
	}
	return false
}

// hasStaleOwnerRef: a ref to an object of this name and kind but another
// UID (an earlier incarnation).
func hasStaleOwnerRef(target metav1.Object, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	for _, r := range target.GetOwnerReferences() {
		if matchesRef(&r, obj, gvk) {
			return r.UID != obj.GetUID()
		}
	}
	return false
}

// hasUnexpectedController: a non-Retain policy and a claim controlled by
// something other than the set or pod (or an earlier incarnation).
func hasUnexpectedController(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	p := retentionPolicy(set)
	if p.WhenScaled == appsv1.RetainPersistentVolumeClaimRetentionPolicyType && p.WhenDeleted == appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		return false
	}
	for _, r := range claim.OwnerReferences {
		switch {
		case matchesRef(&r, set, controllerKind):
			if r.UID != set.UID {
				return true
			}
		case matchesRef(&r, pod, podKind):
			if r.UID != pod.UID {
				return true
			}
		case r.Controller != nil && *r.Controller:
			return true
		}
	}
	return false
}

func hasNonControllerOwner(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	for _, r := range claim.OwnerReferences {
		if (r.UID == set.UID || r.UID == pod.UID) && (r.Controller == nil || !*r.Controller) {
			return true
		}
	}
	return false
}

// claimOwnerUpToDate reports whether claim's owner references express
// the retention policy, as Kubernetes' isClaimOwnerUpToDate:
//
//	Retain/Retain (whenScaled/whenDeleted): no reference
//	Retain/Delete: the set controls the claim
//	Delete/Retain: the pod controls it once scaled down
//	Delete/Delete: the set controls it, the pod once scaled down
//
// Claims with stale references are left alone (true).
func claimOwnerUpToDate(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	if hasStaleOwnerRef(claim, set, controllerKind) || hasStaleOwnerRef(claim, pod, podKind) {
		return true
	}
	if hasUnexpectedController(claim, set, pod) {
		return !hasOwnerRef(claim, set) && !hasOwnerRef(claim, pod)
	}
	if hasNonControllerOwner(claim, set, pod) {
		return false
	}
	const del = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	p := retentionPolicy(set)
	scaledDown := !inOrdinalRange(pod, set)
	wantSet := p.WhenDeleted == del && (p.WhenScaled != del || !scaledDown)
	wantPod := p.WhenScaled == del && scaledDown
	return hasOwnerRef(claim, set) == wantSet && hasOwnerRef(claim, pod) == wantPod
}

// updateClaimOwnerRefs rewrites claim's references to set and pod to
// what the retention policy asks for (see claimOwnerUpToDate).
func updateClaimOwnerRefs(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) {
	unexpected := hasUnexpectedController(claim, set, pod)
	var refs []metav1.OwnerReference
	for _, r := range claim.OwnerReferences {
		if !matchesRef(&r, set, controllerKind) && !matchesRef(&r, pod, podKind) {
			refs = append(refs, r)
		}
	}
	if !unexpected {
		const del = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
		p := retentionPolicy(set)
		scaledDown := !inOrdinalRange(pod, set)
		if p.WhenDeleted == del && (p.WhenScaled != del || !scaledDown) {
			refs = append(refs, *metav1.NewControllerRef(set, controllerKind))
		}
		if p.WhenScaled == del && scaledDown {
			refs = append(refs, *metav1.NewControllerRef(pod, podKind))
		}
	}
	claim.OwnerReferences = refs
}
