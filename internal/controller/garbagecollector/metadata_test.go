package garbagecollector_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"

	"github.com/skiff-dev/skiff/internal/testserver"
)

// TestMetadataListWatch checks what the collector relies on from the API
// server: lists and watch events as PartialObjectMetadata.
func TestMetadataListWatch(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Controllers: []string{}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mc, err := metadata.NewForConfig(srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	cms := mc.Resource(corev1.SchemeGroupVersion.WithResource("configmaps")).Namespace(ns)
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("metadata list: %v", err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatalf("metadata watch: %v", err)
	}
	defer w.Stop()
	cm, err := srv.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "watched", Labels: map[string]string{"a": "b"}},
		Data:       map[string]string{"big": "not in metadata"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type != watch.Added {
			t.Fatalf("event %s %#v, want ADDED", ev.Type, ev.Object)
		}
		m, ok := ev.Object.(*metav1.PartialObjectMetadata)
		if !ok {
			t.Fatalf("event object %T, want *PartialObjectMetadata", ev.Object)
		}
		if m.UID != cm.UID || m.Name != "watched" || m.Labels["a"] != "b" {
			t.Errorf("event metadata = %+v", m.ObjectMeta)
		}
	case <-ctx.Done():
		t.Fatal("no watch event")
	}
	// The server itself must answer in metadata form (the client would
	// also accept a full object and drop the rest).
	raw, err := srv.Client.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/default/configmaps").
		Param("watch", "true").Param("resourceVersion", list.ResourceVersion).Param("timeoutSeconds", "1").
		SetHeader("Accept", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1").DoRaw(ctx)
	if err != nil {
		t.Fatalf("raw watch: %v", err)
	}
	if !strings.Contains(string(raw), `"kind":"PartialObjectMetadata"`) || strings.Contains(string(raw), "not in metadata") {
		t.Errorf("raw watch event is not PartialObjectMetadata: %s", raw)
	}
	got, err := cms.Get(ctx, "watched", metav1.GetOptions{})
	if err != nil || got.UID != cm.UID {
		t.Fatalf("metadata get: %v %v", got, err)
	}
}
