package registry

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
)

// createFields computes the managedFields of a create, remembering the
// answer for objects that differ only in what managedFields never record.
//
// A create's managedFields are one entry: the creating manager owns every
// field the object sets. Which fields those are depends on the object's
// content alone, minus the metadata the field manager strips (name,
// namespace, uid, resourceVersion, creationTimestamp, generation…). The
// pods a controller creates from one template differ only there, so the
// thousand pods of one ReplicaSet share one field set; computing it
// (structured-merge-diff converts the whole object to a typed value,
// validates and compares it) took about an eighth of a pod create.
//
// The memo key is the object's JSON with the stripped metadata cleared:
// JSON is exactly what structured-merge-diff sees of a Go object (it walks
// the same json tags, omitempty rules and marshalers), so equal keys give
// equal field sets. Only creates whose request carries no managedFields use
// the memo (those that do are merged with what they carry).
type createFields struct {
	manager *managedfields.FieldManager

	mu      sync.Mutex
	entries map[string]metav1.ManagedFieldsEntry // key → entry without its time
	order   []string                             // keys, oldest first
	hits    int                                  // creates answered from the memo (for tests)
}

const (
	// createFieldsEntries bounds the memo: templates in use at once are
	// few; a miss costs only the computation it would have cost anyway.
	createFieldsEntries = 64
	// createFieldsMaxKey leaves large objects (ConfigMaps of data) out:
	// they are rarely created twice alike, and their key would cost memory.
	createFieldsMaxKey = 16 << 10
)

func newCreateFields(m *managedfields.FieldManager) *createFields {
	return &createFields{manager: m, entries: map[string]metav1.ManagedFieldsEntry{}}
}

// update returns obj with the managedFields of its creation by manager, as
// manager.Update(empty, obj, manager) does.
func (c *createFields) update(empty, obj runtime.Object, manager string) (runtime.Object, error) {
	a, err := meta.Accessor(obj)
	if err != nil || len(a.GetManagedFields()) > 0 {
		return c.manager.Update(empty, obj, manager)
	}
	key, ok := createFieldsKey(obj, manager)
	if !ok {
		return c.manager.Update(empty, obj, manager)
	}
	c.mu.Lock()
	entry, hit := c.entries[key]
	if hit {
		c.hits++
	}
	c.mu.Unlock()
	if hit {
		entry.Time = &metav1.Time{Time: time.Now().UTC()}
		entry.FieldsV1 = &metav1.FieldsV1{Raw: bytes.Clone(entry.FieldsV1.Raw)}
		a.SetManagedFields([]metav1.ManagedFieldsEntry{entry})
		return obj, nil
	}
	out, err := c.manager.Update(empty, obj, manager)
	if err != nil {
		return nil, err
	}
	if oa, err := meta.Accessor(out); err == nil {
		if mf := oa.GetManagedFields(); len(mf) == 1 && mf[0].FieldsV1 != nil {
			entry := mf[0]
			entry.Time = nil
			entry.FieldsV1 = &metav1.FieldsV1{Raw: bytes.Clone(entry.FieldsV1.Raw)}
			c.remember(key, entry)
		}
	}
	return out, nil
}

func (c *createFields) remember(key string, entry metav1.ManagedFieldsEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return
	}
	if len(c.order) >= createFieldsEntries {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	c.entries[key] = entry
	c.order = append(c.order, key)
}

// createFieldsKey is the manager and the JSON of a shallow copy of obj
// whose stripped metadata is cleared; false when obj is not a pointer to a
// struct or its key would be too large.
func createFieldsKey(obj runtime.Object, manager string) (string, bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return "", false
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	o, ok := cp.Interface().(runtime.Object)
	if !ok {
		return "", false
	}
	a, err := meta.Accessor(o)
	if err != nil {
		return "", false
	}
	// The copy's ObjectMeta and TypeMeta are its own values; maps and
	// slices it shares with obj are only read.
	o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	a.SetName("")
	a.SetNamespace("")
	a.SetUID("")
	a.SetResourceVersion("")
	a.SetCreationTimestamp(metav1.Time{})
	a.SetGeneration(0)
	a.SetSelfLink("")
	b, err := json.Marshal(o)
	if err != nil || len(b) > createFieldsMaxKey {
		return "", false
	}
	return manager + "\x00" + string(b), true
}
