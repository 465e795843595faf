package apiserver_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/internal/apiserver"
	"github.com/skiff-dev/skiff/internal/defaulting"
	"github.com/skiff-dev/skiff/internal/registry"
	"github.com/skiff-dev/skiff/internal/storage"
	"github.com/skiff-dev/skiff/internal/storage/cacher"
	"github.com/skiff-dev/skiff/internal/storage/etcd3"
	"github.com/skiff-dev/skiff/internal/storage/storagetest"
	"github.com/skiff-dev/skiff/internal/validation"
)

// BenchmarkListPods lists 3000 pods through the handler (no TLS), served
// by the watch cache as in skiff server, in each output format.
func BenchmarkListPods(b *testing.B) {
	scheme, err := registry.NewScheme()
	if err != nil {
		b.Fatal(err)
	}
	var res []cacher.Resource
	for p, d := range registry.Decoders(scheme) {
		res = append(res, cacher.Resource{Prefix: p, Decoder: d})
	}
	cache := cacher.New(etcd3.New(storagetest.NewEtcd(b)), cacher.Config{Resources: res})
	b.Cleanup(cache.Close)
	var st storage.Interface = cache
	reg, err := registry.New(registry.Config{Storage: st, Scheme: scheme, Hooks: registry.Hooks{
		Default: defaulting.Default, ValidateCreate: validation.ValidateCreate,
		ValidateUpdate: validation.ValidateUpdate, ValidateStatusUpdate: validation.ValidateStatusUpdate}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := reg.EnsureSystemNamespaces(ctx); err != nil {
		b.Fatal(err)
	}
	pods := reg.Store(corev1.SchemeGroupVersion.WithResource("pods"))
	for i := 0; i < 3000; i++ {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%04d", i), Namespace: "default", Labels: map[string]string{"app": "bench"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/web:1.0", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}}
		if _, err := pods.Create(ctx, p, registry.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	h, err := apiserver.New(apiserver.Config{Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	for _, accept := range []string{"application/vnd.kubernetes.protobuf", "application/json", "application/json;as=Table;v=v1;g=meta.k8s.io"} {
		b.Run(accept, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", "/api/v1/namespaces/default/pods", nil)
				req.Header.Set("Accept", accept)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}
