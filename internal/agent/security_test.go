package agent

import (
	"reflect"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestCredentialFor(t *testing.T) {
	group := func(uid int64) int64 {
		if uid == 1000 {
			return 100
		}
		return 0
	}
	pod := func(psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) (*corev1.Pod, *corev1.Container) {
		p := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: psc, Containers: []corev1.Container{{Name: "c", SecurityContext: sc}}}}
		return p, &p.Spec.Containers[0]
	}
	for _, tc := range []struct {
		name       string
		psc        *corev1.PodSecurityContext
		sc         *corev1.SecurityContext
		self       int
		want       *syscall.Credential
		wantIgnore bool
	}{
		{name: "nothing asked", self: 0},
		{name: "pod user, passwd group", psc: &corev1.PodSecurityContext{RunAsUser: ptr.To(int64(1000))}, self: 0,
			want: &syscall.Credential{Uid: 1000, Gid: 100, Groups: []uint32{}}},
		{name: "unknown user gets group 0", psc: &corev1.PodSecurityContext{RunAsUser: ptr.To(int64(65534))}, self: 0,
			want: &syscall.Credential{Uid: 65534, Gid: 0, Groups: []uint32{}}},
		{name: "container wins, groups and fsGroup",
			psc:  &corev1.PodSecurityContext{RunAsUser: ptr.To(int64(1)), RunAsGroup: ptr.To(int64(2)), SupplementalGroups: []int64{5}, FSGroup: ptr.To(int64(6))},
			sc:   &corev1.SecurityContext{RunAsUser: ptr.To(int64(3)), RunAsGroup: ptr.To(int64(4))},
			self: 0, want: &syscall.Credential{Uid: 3, Gid: 4, Groups: []uint32{5, 6}}},
		{name: "not root, other user", sc: &corev1.SecurityContext{RunAsUser: ptr.To(int64(65534))}, self: 1000, wantIgnore: true},
		{name: "not root, own user", sc: &corev1.SecurityContext{RunAsUser: ptr.To(int64(1000))}, self: 1000},
		{name: "not root, groups", psc: &corev1.PodSecurityContext{SupplementalGroups: []int64{7}}, self: 1000, wantIgnore: true},
	} {
		p, c := pod(tc.psc, tc.sc)
		got, ignored := credentialFor(containerRunAs(p, c), c.Name, tc.self, 100, group)
		if !reflect.DeepEqual(got, tc.want) || (ignored != "") != tc.wantIgnore {
			t.Errorf("%s: credential = %+v, ignored %q", tc.name, got, ignored)
		}
	}
}
