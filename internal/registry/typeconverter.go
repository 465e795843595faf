package registry

import (
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// goTypeConverter is the field managers' TypeConverter. It gives the Go
// objects of the served kinds to structured-merge-diff without checking
// them against the schema, which the base converter does on every
// conversion and which was more than half of the managedFields work of an
// update (a status write converts the old and the new pod).
//
// The check cannot fail for them: a Go object of a served kind has exactly
// the fields and scalar types of its schema, both generated from the same
// types, and what else it checks, the keys of associative lists, the
// comparison that computes managedFields checks again on every item.
// Unstructured objects, which are what a client sent (server-side apply's
// configurations), are still checked by the base converter.
type goTypeConverter struct {
	base   managedfields.TypeConverter
	scheme *runtime.Scheme
	types  sync.Map // schema.GroupVersionKind → smdType
}

type smdType struct {
	schema *smdschema.Schema
	ref    smdschema.TypeRef
}

func newGoTypeConverter(base managedfields.TypeConverter, scheme *runtime.Scheme) *goTypeConverter {
	return &goTypeConverter{base: base, scheme: scheme}
}

func (c *goTypeConverter) ObjectToTyped(obj runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	if _, ok := obj.(*unstructured.Unstructured); ok {
		return c.base.ObjectToTyped(obj, opts...)
	}
	t, ok := c.typeOf(obj.GetObjectKind().GroupVersionKind())
	if !ok {
		return c.base.ObjectToTyped(obj, opts...)
	}
	v, err := value.NewValueReflect(obj)
	if err != nil {
		return c.base.ObjectToTyped(obj, opts...)
	}
	return typed.AsTypedUnvalidated(v, t.schema, t.ref), nil
}

func (c *goTypeConverter) TypedToObject(v *typed.TypedValue) (runtime.Object, error) {
	return c.base.TypedToObject(v)
}

// typeOf finds the schema type of gvk once, by converting an empty object
// of the kind with the base converter.
func (c *goTypeConverter) typeOf(gvk schema.GroupVersionKind) (smdType, bool) {
	if t, ok := c.types.Load(gvk); ok {
		return t.(smdType), true
	}
	empty, err := c.scheme.New(gvk)
	if err != nil {
		return smdType{}, false
	}
	empty.GetObjectKind().SetGroupVersionKind(gvk)
	tv, err := c.base.ObjectToTyped(empty)
	if err != nil {
		return smdType{}, false
	}
	t := smdType{schema: tv.Schema(), ref: tv.TypeRef()}
	c.types.Store(gvk, t)
	return t, true
}
