package apiserver

import (
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/internal/printers"
	"github.com/skiff-dev/skiff/internal/registry"
)

// table prints objs as a meta.k8s.io/v1 Table with the columns Kubernetes
// uses for the kind. includeObject is None, Object or Metadata (default):
// what each row carries besides its cells.
func (s *Server) table(store *registry.Store, objs []runtime.Object, lm metav1.ListMeta, includeObject string, headers bool) (*metav1.Table, error) {
	p, ok := printers.For(store.Kind.GroupResource())
	if !ok {
		p = printers.Default()
	}
	t := &metav1.Table{
		TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"},
		ListMeta: lm,
	}
	if headers {
		t.ColumnDefinitions = p.Columns
	}
	now := s.now()
	t.Rows = make([]metav1.TableRow, 0, len(objs))
	for _, obj := range objs {
		cells, err := p.Cells(obj, now)
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("print %s: %w", store.Kind.Resource, err))
		}
		row := metav1.TableRow{Cells: cells}
		var embedded runtime.Object
		switch includeObject {
		case "None":
		case "Object":
			embedded = obj
		default:
			pm := partialMetadata(obj)
			pm.ManagedFields = nil
			embedded = pm
		}
		if embedded != nil {
			// RawExtension marshals only Raw: encode the row's object here.
			raw, err := json.Marshal(embedded)
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			row.Object = runtime.RawExtension{Raw: raw}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}
