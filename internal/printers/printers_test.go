package printers

import (
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// now is the fixed clock of every test; objects are created 5m before it.
var (
	now     = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	created = metav1.NewTime(now.Add(-5 * time.Minute))
)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

// zeroObjects names a zero value of the type each printer expects.
func zeroObjects() map[schema.GroupResource]func() runtime.Object {
	return map[schema.GroupResource]func() runtime.Object{
		{Resource: "pods"}:                                      func() runtime.Object { return &corev1.Pod{} },
		{Resource: "services"}:                                  func() runtime.Object { return &corev1.Service{} },
		{Resource: "endpoints"}:                                 func() runtime.Object { return &corev1.Endpoints{} },
		{Resource: "nodes"}:                                     func() runtime.Object { return &corev1.Node{} },
		{Resource: "events"}:                                    func() runtime.Object { return &corev1.Event{} },
		{Group: "events.k8s.io", Resource: "events"}:            func() runtime.Object { return &eventsv1.Event{} },
		{Resource: "namespaces"}:                                func() runtime.Object { return &corev1.Namespace{} },
		{Resource: "configmaps"}:                                func() runtime.Object { return &corev1.ConfigMap{} },
		{Resource: "secrets"}:                                   func() runtime.Object { return &corev1.Secret{} },
		{Resource: "serviceaccounts"}:                           func() runtime.Object { return &corev1.ServiceAccount{} },
		{Resource: "persistentvolumeclaims"}:                    func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
		{Resource: "persistentvolumes"}:                         func() runtime.Object { return &corev1.PersistentVolume{} },
		{Group: "storage.k8s.io", Resource: "storageclasses"}:   func() runtime.Object { return &storagev1.StorageClass{} },
		{Group: "apps", Resource: "deployments"}:                func() runtime.Object { return &appsv1.Deployment{} },
		{Group: "apps", Resource: "replicasets"}:                func() runtime.Object { return &appsv1.ReplicaSet{} },
		{Group: "apps", Resource: "daemonsets"}:                 func() runtime.Object { return &appsv1.DaemonSet{} },
		{Group: "apps", Resource: "statefulsets"}:               func() runtime.Object { return &appsv1.StatefulSet{} },
		{Group: "apps", Resource: "controllerrevisions"}:        func() runtime.Object { return &appsv1.ControllerRevision{} },
		{Group: "discovery.k8s.io", Resource: "endpointslices"}: func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		{Group: "coordination.k8s.io", Resource: "leases"}:      func() runtime.Object { return &coordinationv1.Lease{} },
	}
}

// TestEveryPrinterSurvivesZeroObjects checks that each printer yields one
// cell per column for zero, typed-nil and empty unstructured objects, and
// an error (not a panic) for nil and wrong-typed objects.
func TestEveryPrinterSurvivesZeroObjects(t *testing.T) {
	zeros := zeroObjects()
	if len(zeros) != len(builders) {
		t.Fatalf("test covers %d kinds, package has %d", len(zeros), len(builders))
	}
	for gr, zero := range zeros {
		t.Run(gr.String(), func(t *testing.T) {
			p, ok := For(gr)
			if !ok {
				t.Fatalf("no printer for %v", gr)
			}
			typedNil := reflect.Zero(reflect.TypeOf(zero())).Interface().(runtime.Object)
			for name, obj := range map[string]runtime.Object{
				"zero":         zero(),
				"typed nil":    typedNil,
				"unstructured": &unstructured.Unstructured{Object: map[string]interface{}{}},
			} {
				cells, err := p.Cells(obj, now)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(cells) != len(p.Columns) {
					t.Fatalf("%s: %d cells for %d columns", name, len(cells), len(p.Columns))
				}
			}
			if _, err := p.Cells(nil, now); err == nil {
				t.Errorf("nil object: want error")
			}
			if _, err := p.Cells(&metav1.Status{}, now); err == nil {
				t.Errorf("wrong type: want error")
			}
		})
	}
}

func TestColumns(t *testing.T) {
	want := map[schema.GroupResource]string{
		{Resource: "pods"}:                                      "NAME READY STATUS RESTARTS AGE | IP NODE NOMINATED-NODE READINESS-GATES",
		{Resource: "services"}:                                  "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE | SELECTOR",
		{Resource: "endpoints"}:                                 "NAME ENDPOINTS AGE",
		{Resource: "nodes"}:                                     "NAME STATUS ROLES AGE VERSION | INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME",
		{Resource: "events"}:                                    "LAST-SEEN TYPE REASON OBJECT MESSAGE | SUBOBJECT SOURCE FIRST-SEEN COUNT NAME",
		{Group: "events.k8s.io", Resource: "events"}:            "LAST-SEEN TYPE REASON OBJECT MESSAGE | SUBOBJECT SOURCE FIRST-SEEN COUNT NAME",
		{Resource: "namespaces"}:                                "NAME STATUS AGE",
		{Resource: "configmaps"}:                                "NAME DATA AGE",
		{Resource: "secrets"}:                                   "NAME TYPE DATA AGE",
		{Resource: "serviceaccounts"}:                           "NAME SECRETS AGE",
		{Resource: "persistentvolumeclaims"}:                    "NAME STATUS VOLUME CAPACITY ACCESS-MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE | VOLUMEMODE",
		{Resource: "persistentvolumes"}:                         "NAME CAPACITY ACCESS-MODES RECLAIM-POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE | VOLUMEMODE",
		{Group: "storage.k8s.io", Resource: "storageclasses"}:   "NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE",
		{Group: "apps", Resource: "deployments"}:                "NAME READY UP-TO-DATE AVAILABLE AGE | CONTAINERS IMAGES SELECTOR",
		{Group: "apps", Resource: "replicasets"}:                "NAME DESIRED CURRENT READY AGE | CONTAINERS IMAGES SELECTOR",
		{Group: "apps", Resource: "daemonsets"}:                 "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE-SELECTOR AGE | CONTAINERS IMAGES SELECTOR",
		{Group: "apps", Resource: "statefulsets"}:               "NAME READY AGE | CONTAINERS IMAGES",
		{Group: "apps", Resource: "controllerrevisions"}:        "NAME CONTROLLER REVISION AGE",
		{Group: "discovery.k8s.io", Resource: "endpointslices"}: "NAME ADDRESSTYPE PORTS ENDPOINTS AGE",
		{Group: "coordination.k8s.io", Resource: "leases"}:      "NAME HOLDER AGE",
	}
	for gr, w := range want {
		p, ok := For(gr)
		if !ok {
			t.Errorf("%v: no printer", gr)
			continue
		}
		if got := header(p.Columns); got != w {
			t.Errorf("%v columns:\n got %s\nwant %s", gr, got, w)
		}
		names := 0
		for _, c := range p.Columns {
			if c.Description == "" {
				t.Errorf("%v: column %q has no description", gr, c.Name)
			}
			switch c.Type {
			case "string", "integer":
			default:
				t.Errorf("%v: column %q has type %q", gr, c.Name, c.Type)
			}
			if c.Format == "name" {
				names++
				if c.Name != "Name" {
					t.Errorf("%v: format name on %q", gr, c.Name)
				}
			}
		}
		if names != 1 {
			t.Errorf("%v: %d name-format columns, want 1", gr, names)
		}
	}
	if _, ok := For(schema.GroupResource{Group: "batch", Resource: "jobs"}); ok {
		t.Errorf("jobs: want no printer")
	}
}

// header renders columns as kubectl would: upper case, spaces in names
// as dashes, wide ones after a bar, in column order.
func header(cols []metav1.TableColumnDefinition) string {
	var normal, wideCols []string
	for _, c := range cols {
		n := strings.ToUpper(strings.ReplaceAll(c.Name, " ", "-"))
		if c.Priority == 0 {
			normal = append(normal, n)
		} else {
			wideCols = append(wideCols, n)
		}
	}
	s := strings.Join(normal, " ")
	if len(wideCols) > 0 {
		s += " | " + strings.Join(wideCols, " ")
	}
	return s
}

func TestColumnTypesMatchUpstream(t *testing.T) {
	p, _ := For(schema.GroupResource{Group: "apps", Resource: "replicasets"})
	for i, typ := range []string{"string", "integer", "integer", "integer", "string", "string", "string", "string"} {
		if p.Columns[i].Type != typ {
			t.Errorf("replicasets column %q: type %q, want %q", p.Columns[i].Name, p.Columns[i].Type, typ)
		}
	}
	if got, want := p.Columns[0].Description, (metav1.ObjectMeta{}).SwaggerDoc()["name"]; got != want {
		t.Errorf("name description = %q", got)
	}
}

func TestForReturnsFreshColumns(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	a, _ := For(gr)
	a.Columns[0].Name = "changed"
	b, _ := For(gr)
	if b.Columns[0].Name != "Name" {
		t.Fatalf("For shares column slices between calls")
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	if got := header(p.Columns); got != "NAME CREATED-AT" {
		t.Fatalf("columns %s", got)
	}
	if p.Columns[0].Format != "name" || p.Columns[1].Type != "date" {
		t.Fatalf("column formats: %+v", p.Columns)
	}
	obj := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", CreationTimestamp: metav1.NewTime(time.Date(2025, 6, 1, 14, 0, 0, 0, time.FixedZone("x", 2*3600)))}}
	cells, err := p.Cells(obj, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"x", "2025-06-01T12:00:00Z"}
	if !reflect.DeepEqual(cells, want) {
		t.Fatalf("cells %v, want %v", cells, want)
	}
	u := &unstructured.Unstructured{}
	u.SetName("u")
	if cells, err := p.Cells(u, now); err != nil || cells[0] != "u" || cells[1] != "0001-01-01T00:00:00Z" {
		t.Fatalf("unstructured: %v %v", cells, err)
	}
	if _, err := p.Cells(nil, now); err == nil {
		t.Fatal("nil: want error")
	}
}

func TestUnstructuredInput(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: created},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}, NodeName: "n1"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.1.0.4"}}, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "a", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
		}},
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
	if err != nil {
		t.Fatal(err)
	}
	want := mustCells(t, schema.GroupResource{Resource: "pods"}, pod)
	got := mustCells(t, schema.GroupResource{Resource: "pods"}, &unstructured.Unstructured{Object: m})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("unstructured cells %v, typed %v", got, want)
	}
	bad := &unstructured.Unstructured{Object: map[string]interface{}{"spec": "not an object"}}
	p, _ := For(schema.GroupResource{Resource: "pods"})
	if _, err := p.Cells(bad, now); err == nil {
		t.Fatal("malformed unstructured: want error")
	}
}

func TestRowConditions(t *testing.T) {
	if c := RowConditions(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}); len(c) != 1 || c[0].Type != metav1.RowCompleted || c[0].Reason != "Succeeded" {
		t.Errorf("succeeded: %+v", c)
	}
	if c := RowConditions(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed}}); len(c) != 1 || c[0].Reason != "Failed" {
		t.Errorf("failed: %+v", c)
	}
	if c := RowConditions(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}); c != nil {
		t.Errorf("running: %+v", c)
	}
	if c := RowConditions(&corev1.Node{}); c != nil {
		t.Errorf("node: %+v", c)
	}
}

// mustCells prints obj with the printer for gr and checks the row length.
func mustCells(t *testing.T, gr schema.GroupResource, obj runtime.Object) []interface{} {
	t.Helper()
	p, ok := For(gr)
	if !ok {
		t.Fatalf("no printer for %v", gr)
	}
	cells, err := p.Cells(obj, now)
	if err != nil {
		t.Fatalf("cells: %v", err)
	}
	if len(cells) != len(p.Columns) {
		t.Fatalf("%d cells for %d columns", len(cells), len(p.Columns))
	}
	return cells
}

func checkCells(t *testing.T, gr schema.GroupResource, obj runtime.Object, want []interface{}) {
	t.Helper()
	got := mustCells(t, gr, obj)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cells:\n got %#v\nwant %#v", got, want)
	}
}

func ptrTo[T any](v T) *T { return &v }
