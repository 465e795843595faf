package namespace

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestSetConditions(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	deploys := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	tests := []struct {
		name        string
		fresh       bool // no conditions before
		before      progress
		p           progress
		wantChanged bool
		want        map[corev1.NamespaceConditionType][3]string // status, reason, message
		wantTime    map[corev1.NamespaceConditionType]metav1.Time
	}{
		{
			name:        "all done",
			fresh:       true,
			p:           progress{},
			wantChanged: true,
			want: map[corev1.NamespaceConditionType][3]string{
				corev1.NamespaceDeletionDiscoveryFailure: {"False", "ResourcesDiscovered", "All resources successfully discovered"},
				corev1.NamespaceContentRemaining:         {"False", "ContentRemoved", "All content successfully removed"},
			},
		},
		{
			name: "content and finalizers remaining",
			p: progress{
				remaining:  map[schema.GroupVersionResource]int{pods: 2, deploys: 1},
				finalizers: map[string]int{"example.com/x": 1},
			},
			wantChanged: true,
			want: map[corev1.NamespaceConditionType][3]string{
				corev1.NamespaceContentRemaining:       {"True", "SomeResourcesRemain", "Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource instances"},
				corev1.NamespaceFinalizersRemaining:    {"True", "SomeFinalizerRemain", "Some finalizers are remaining: example.com/x in 1 resource instances"},
				corev1.NamespaceDeletionContentFailure: {"False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
			},
		},
		{
			name:   "errors",
			before: progress{},
			p: progress{
				discoveryErr: errors.New("boom"),
				deleteErrs:   []error{errors.New("b"), errors.New("a")},
			},
			wantChanged: true,
			want: map[corev1.NamespaceConditionType][3]string{
				corev1.NamespaceDeletionDiscoveryFailure: {"True", "DiscoveryFailed", "boom"},
				corev1.NamespaceDeletionContentFailure:   {"True", "ContentDeletionFailed", "Failed to delete all resource types, 2 remaining: a, b"},
			},
			wantTime: map[corev1.NamespaceConditionType]metav1.Time{
				corev1.NamespaceDeletionDiscoveryFailure: t1,
				corev1.NamespaceContentRemaining:         t0, // unchanged status keeps its time
			},
		},
		{
			name:        "unchanged",
			before:      progress{remaining: map[schema.GroupVersionResource]int{pods: 1}},
			p:           progress{remaining: map[schema.GroupVersionResource]int{pods: 1}},
			wantChanged: false,
		},
		{
			name:        "message change keeps the transition time",
			before:      progress{remaining: map[schema.GroupVersionResource]int{pods: 2}},
			p:           progress{remaining: map[schema.GroupVersionResource]int{pods: 1}},
			wantChanged: true,
			wantTime:    map[corev1.NamespaceConditionType]metav1.Time{corev1.NamespaceContentRemaining: t0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st corev1.NamespaceStatus
			if !tt.fresh {
				setConditions(&st, tt.before, t0)
			}
			changed := setConditions(&st, tt.p, t1)
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if len(st.Conditions) != len(conditionTypes) {
				t.Fatalf("%d conditions, want %d", len(st.Conditions), len(conditionTypes))
			}
			for typ, w := range tt.want {
				c := st.Conditions[findCondition(st.Conditions, typ)]
				if got := [3]string{string(c.Status), c.Reason, c.Message}; got != w {
					t.Errorf("%s = %q, want %q", typ, got, w)
				}
			}
			for typ, w := range tt.wantTime {
				if c := st.Conditions[findCondition(st.Conditions, typ)]; !c.LastTransitionTime.Equal(&w) {
					t.Errorf("%s transition time = %v, want %v", typ, c.LastTransitionTime, w)
				}
			}
		})
	}
}
