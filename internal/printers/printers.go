package printers

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Printer prints one kind.
type Printer struct {
	Columns []metav1.TableColumnDefinition
	// Cells returns one row's cells for obj (same length as Columns); now is
	// the clock for AGE and every other "time since" cell.
	Cells func(obj runtime.Object, now time.Time) ([]interface{}, error)
}

// For returns the printer for a group-resource (e.g. {Group: "apps",
// Resource: "deployments"}); ok is false when there is none, in which case
// the API server uses Default.
//
// Every call builds a fresh Printer, so callers may modify what they get.
func For(gr schema.GroupResource) (Printer, bool) {
	build, ok := builders[gr]
	if !ok {
		return Printer{}, false
	}
	return build(), true
}

// builders maps each covered group-resource to the constructor of its
// printer. It is read-only after package initialisation.
var builders = map[schema.GroupResource]func() Printer{
	{Group: "", Resource: "pods"}:                           podPrinter,
	{Group: "", Resource: "services"}:                       servicePrinter,
	{Group: "", Resource: "endpoints"}:                      endpointsPrinter,
	{Group: "", Resource: "nodes"}:                          nodePrinter,
	{Group: "", Resource: "events"}:                         coreEventPrinter,
	{Group: "events.k8s.io", Resource: "events"}:            eventsV1Printer,
	{Group: "", Resource: "namespaces"}:                     namespacePrinter,
	{Group: "", Resource: "configmaps"}:                     configMapPrinter,
	{Group: "", Resource: "secrets"}:                        secretPrinter,
	{Group: "", Resource: "serviceaccounts"}:                serviceAccountPrinter,
	{Group: "", Resource: "persistentvolumeclaims"}:         pvcPrinter,
	{Group: "", Resource: "persistentvolumes"}:              pvPrinter,
	{Group: "storage.k8s.io", Resource: "storageclasses"}:   storageClassPrinter,
	{Group: "apps", Resource: "deployments"}:                deploymentPrinter,
	{Group: "apps", Resource: "replicasets"}:                replicaSetPrinter,
	{Group: "apps", Resource: "daemonsets"}:                 daemonSetPrinter,
	{Group: "apps", Resource: "statefulsets"}:               statefulSetPrinter,
	{Group: "apps", Resource: "controllerrevisions"}:        controllerRevisionPrinter,
	{Group: "discovery.k8s.io", Resource: "endpointslices"}: endpointSlicePrinter,
	{Group: "coordination.k8s.io", Resource: "leases"}:      leasePrinter,
}

// Default is the generic table kube-apiserver uses for kinds without a
// printer: NAME (format name) and CREATED AT (type date, RFC 3339 in UTC).
func Default() Printer {
	return Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Created At", Type: "date", Description: objectMetaDoc("creationTimestamp")},
		},
		Cells: func(obj runtime.Object, _ time.Time) ([]interface{}, error) {
			if obj == nil {
				return nil, fmt.Errorf("printers: nil object")
			}
			m, err := meta.Accessor(obj)
			if err != nil {
				return nil, fmt.Errorf("printers: object has no metadata: %w", err)
			}
			return []interface{}{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}, nil
		},
	}
}

// typed builds a Printer whose Cells decode obj to *T before calling cells.
func typed[T any, PT interface {
	*T
	runtime.Object
}](columns []metav1.TableColumnDefinition, cells func(PT, time.Time) ([]interface{}, error)) Printer {
	return Printer{
		Columns: columns,
		Cells: func(obj runtime.Object, now time.Time) ([]interface{}, error) {
			o, err := as[T, PT](obj)
			if err != nil {
				return nil, err
			}
			return cells(o, now)
		},
	}
}

// as turns obj into a *T: directly when it already is one (a typed nil
// becomes a zero value so printers never dereference nil), or by converting
// an *unstructured.Unstructured.
func as[T any, PT interface {
	*T
	runtime.Object
}](obj runtime.Object) (PT, error) {
	switch o := obj.(type) {
	case PT:
		if o == nil {
			return PT(new(T)), nil
		}
		return o, nil
	case *unstructured.Unstructured:
		out := PT(new(T))
		if o == nil {
			return out, nil
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
			return nil, fmt.Errorf("printers: convert %s to %T: %w", o.GetKind(), out, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("printers: expected %T, got %T", PT(nil), obj)
}

// Column helpers. Descriptions come from the SwaggerDoc of the field the
// column shows, exactly as upstream does.

func objectMetaDoc(field string) string { return metav1.ObjectMeta{}.SwaggerDoc()[field] }

func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc("name")}
}

func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc("creationTimestamp")}
}

func col(name, typ, desc string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Description: desc}
}

// wide marks a column as shown only with -o wide.
func wide(c metav1.TableColumnDefinition) metav1.TableColumnDefinition {
	c.Priority = 1
	return c
}

const (
	containersDoc = "Names of each container in the template."
	imagesDoc     = "Images referenced by each container in the template."
)

// Cell helpers.

// since is the human-readable time elapsed from t to now, "<unknown>" for
// a zero time (upstream's translateTimestampSince with an injected clock).
func since(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func sinceMicro(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// listWithMore joins up to three items and says how many more there were;
// "<unset>" when there were none.
func listWithMore(list []string, more bool, count, max int) string {
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, count-max)
	}
	if ret == "" {
		ret = "<unset>"
	}
	return ret
}
