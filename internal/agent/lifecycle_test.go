package agent

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestNextBackoff(t *testing.T) {
	base, maxDelay := 10*time.Second, 300*time.Second
	var got []time.Duration
	d := time.Duration(0)
	for range 8 {
		d = nextBackoff(d, base, maxDelay)
		got = append(got, d)
	}
	want := []time.Duration{10, 20, 40, 80, 160, 300, 300, 300}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("backoffs = %v", got)
		}
	}
}

func TestPhase(t *testing.T) {
	running := corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	waiting := corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}
	term := func(code int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
	}
	backoff := corev1.ContainerStatus{
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}},
	}
	for _, tc := range []struct {
		name     string
		statuses []corev1.ContainerStatus
		policy   corev1.RestartPolicy
		want     corev1.PodPhase
	}{
		{"all running", []corev1.ContainerStatus{running, running}, corev1.RestartPolicyAlways, corev1.PodRunning},
		{"one waiting", []corev1.ContainerStatus{running, waiting}, corev1.RestartPolicyAlways, corev1.PodPending},
		{"crash looping", []corev1.ContainerStatus{backoff}, corev1.RestartPolicyAlways, corev1.PodRunning},
		{"done always", []corev1.ContainerStatus{term(0)}, corev1.RestartPolicyAlways, corev1.PodRunning},
		{"done never", []corev1.ContainerStatus{term(0), term(0)}, corev1.RestartPolicyNever, corev1.PodSucceeded},
		{"failed never", []corev1.ContainerStatus{term(0), term(2)}, corev1.RestartPolicyNever, corev1.PodFailed},
		{"failed on failure", []corev1.ContainerStatus{term(2)}, corev1.RestartPolicyOnFailure, corev1.PodRunning},
		{"succeeded on failure", []corev1.ContainerStatus{term(0)}, corev1.RestartPolicyOnFailure, corev1.PodSucceeded},
		{"one still running", []corev1.ContainerStatus{term(0), running}, corev1.RestartPolicyNever, corev1.PodRunning},
		{"nothing", nil, corev1.RestartPolicyAlways, corev1.PodPending},
	} {
		if got := phase(tc.statuses, tc.policy); got != tc.want {
			t.Errorf("%s: phase = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestShouldRestart(t *testing.T) {
	for _, tc := range []struct {
		policy corev1.RestartPolicy
		code   int32
		want   bool
	}{
		{corev1.RestartPolicyAlways, 0, true},
		{corev1.RestartPolicyAlways, 1, true},
		{corev1.RestartPolicyOnFailure, 0, false},
		{corev1.RestartPolicyOnFailure, 1, true},
		{corev1.RestartPolicyNever, 1, false},
	} {
		if got := shouldRestart(tc.policy, tc.code); got != tc.want {
			t.Errorf("shouldRestart(%s, %d) = %v", tc.policy, tc.code, got)
		}
	}
}

func TestImageName(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                    "nginx",
		"nginx:1.27":               "nginx",
		"registry:5000/app/web:v2": "registry:5000/app/web",
		"registry:5000/app/web":    "registry:5000/app/web",
		"busybox@sha256:abc":       "busybox",
		"busybox:1.36@sha256:abc":  "busybox",
	} {
		if got := imageName(in); got != want {
			t.Errorf("imageName(%q) = %q, want %q", in, got, want)
		}
	}
}
