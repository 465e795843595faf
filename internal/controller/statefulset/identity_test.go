package statefulset

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParentAndOrdinal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		parent string
		ord    int
	}{
		{"web-0", "web", 0}, {"my-db-12", "my-db", 12}, {"web", "", -1}, {"web-x", "", -1}, {"web-", "", -1},
	} {
		p, o := parentAndOrdinal(tc.name)
		if p != tc.parent || o != tc.ord {
			t.Errorf("%s: got %q %d", tc.name, p, o)
		}
	}
}

func TestNewVersionedPod(t *testing.T) {
	two := int32(2)
	set := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "s"},
		Spec: appsv1.StatefulSetSpec{
			ServiceName:          "svc",
			Ordinals:             &appsv1.StatefulSetOrdinals{Start: 1},
			Template:             corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}},
			UpdateStrategy:       appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &two}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}},
		},
	}
	below := newVersionedPod(set, set, "cur", "upd", 2) // start 1 + partition 2 = 3
	at := newVersionedPod(set, set, "cur", "upd", 3)
	if podRevision(below) != "cur" || podRevision(at) != "upd" {
		t.Fatalf("revisions %s %s", podRevision(below), podRevision(at))
	}
	if at.Name != "web-3" || at.Spec.Hostname != "web-3" || at.Spec.Subdomain != "svc" || at.Namespace != "ns" ||
		at.Labels[appsv1.PodIndexLabel] != "3" || at.Labels[appsv1.StatefulSetPodNameLabel] != "web-3" {
		t.Fatalf("pod %+v", at.ObjectMeta)
	}
	if !identityMatches(set, at) || !storageMatches(set, at) || at.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-web-3" {
		t.Fatalf("identity/storage of %+v", at.Spec.Volumes)
	}
	if metav1.GetControllerOf(at).UID != "s" {
		t.Fatal("no controller ref")
	}
}

func TestClaimRetentionRefs(t *testing.T) {
	const (
		retain = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
		del    = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	)
	one := int32(1)
	for _, tc := range []struct {
		scaled, deleted     appsv1.PersistentVolumeClaimRetentionPolicyType
		ordinal             int
		wantSet, wantPodRef bool
	}{
		{retain, retain, 0, false, false},
		{retain, retain, 3, false, false},
		{retain, del, 0, true, false},
		{retain, del, 3, true, false},
		{del, retain, 0, false, false},
		{del, retain, 3, false, true},
		{del, del, 0, true, false},
		{del, del, 3, false, true},
	} {
		set := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "s"}, Spec: appsv1.StatefulSetSpec{
			Replicas:                             &one,
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenScaled: tc.scaled, WhenDeleted: tc.deleted},
		}}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: podName(set, tc.ordinal), UID: "p"}}
		claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "keep", UID: "k"}}}}
		wantNoop := !tc.wantSet && !tc.wantPodRef
		if claimOwnerUpToDate(claim, set, pod) != wantNoop {
			t.Errorf("%s/%s ord %d: up to date before update = %v", tc.scaled, tc.deleted, tc.ordinal, !wantNoop)
		}
		updateClaimOwnerRefs(claim, set, pod)
		if hasOwnerRef(claim, set) != tc.wantSet || hasOwnerRef(claim, pod) != tc.wantPodRef || claim.OwnerReferences[0].UID != "k" {
			t.Errorf("%s/%s ord %d: refs %+v", tc.scaled, tc.deleted, tc.ordinal, claim.OwnerReferences)
		}
		if !claimOwnerUpToDate(claim, set, pod) {
			t.Errorf("%s/%s ord %d: not up to date after update", tc.scaled, tc.deleted, tc.ordinal)
		}
	}
}
