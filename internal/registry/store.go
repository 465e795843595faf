package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/skiff-dev/skiff/internal/storage"
)

// Hooks are the kind-independent policies a Store applies to every write.
// They are injected so that the registry does not decide what defaulting and
// validation are (packages defaulting and validation do).
type Hooks struct {
	Default              func(obj runtime.Object)
	ValidateCreate       func(obj runtime.Object) field.ErrorList
	ValidateUpdate       func(obj, old runtime.Object) field.ErrorList
	ValidateStatusUpdate func(obj, old runtime.Object) field.ErrorList
}

// Store gives one Kind its Kubernetes semantics over a storage.Interface.
type Store struct {
	Kind    *Kind
	storage storage.Interface
	scheme  *runtime.Scheme
	codec   *protobuf.Serializer
	hooks   Hooks
	now     func() time.Time
	prefix  string

	// fieldManager keeps managedFields on writes to the main resource,
	// statusManager on writes to /status.
	fieldManager  *managedfields.FieldManager
	statusManager *managedfields.FieldManager
	// createFields memoizes the managedFields of creates for kinds
	// created alike; nil for the others.
	createFields *createFields

	// namespaceGate answers whether new objects may be created in a
	// namespace (it exists and is not terminating). Nil for cluster kinds.
	namespaceGate func(ctx context.Context, ns string) error

	// Reservations outside the object (Services: ClusterIPs, NodePorts).
	// onCreate returns how to undo what it took if the create fails;
	// onUpdate also returns what to do once the update is stored; onDelete
	// runs once the object is gone. Nil for most kinds.
	onCreate func(ctx context.Context, obj runtime.Object) (undo func(), err error)
	onUpdate func(ctx context.Context, obj, old runtime.Object) (undo, commit func(), err error)
	onDelete func(ctx context.Context, obj runtime.Object)
}

// keyPrefix is the storage key prefix of a kind's objects.
func keyPrefix(k *Kind) string {
	group := k.GVK.Group
	if group == "" {
		group = "core"
	}
	return "/registry/" + group + "/" + k.Resource + "/"
}

// Decoders returns, for every served kind, its storage key prefix and the
// decoder of its stored values: what the watch cache needs before any
// Store exists.
func Decoders(scheme *runtime.Scheme) map[string]storage.Decoder {
	out := map[string]storage.Decoder{}
	for _, k := range Kinds() {
		s := &Store{Kind: k, scheme: scheme, codec: protobuf.NewSerializer(scheme, scheme), prefix: keyPrefix(k)}
		out[s.prefix] = s.Decode
	}
	return out
}

func newStore(k *Kind, st storage.Interface, scheme *runtime.Scheme, tc managedfields.TypeConverter, hooks Hooks, now func() time.Time) (*Store, error) {
	s := &Store{
		Kind:    k,
		storage: st,
		scheme:  scheme,
		codec:   protobuf.NewSerializer(scheme, scheme),
		hooks:   hooks,
		now:     now,
		prefix:  keyPrefix(k),
	}

	gv := fieldpath.APIVersion(k.GVK.GroupVersion().String())
	var mainReset, statusReset map[fieldpath.APIVersion]fieldpath.Filter
	if k.HasStatus {
		mainReset = map[fieldpath.APIVersion]fieldpath.Filter{gv: fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie("status")))}
		statusReset = map[fieldpath.APIVersion]fieldpath.Filter{gv: fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie("spec")))}
	}
	defaulter := defaulterFunc(hooks.Default)
	var err error
	s.fieldManager, err = managedfields.NewDefaultFieldManager(tc, scheme, defaulter, scheme, k.GVK, k.GVK.GroupVersion(), "", mainReset)
	if err != nil {
		return nil, fmt.Errorf("field manager for %s: %w", k.Resource, err)
	}
	if k.CreatedAlike {
		s.createFields = newCreateFields(s.fieldManager)
	}
	if k.HasStatus {
		s.statusManager, err = managedfields.NewDefaultFieldManager(tc, scheme, defaulter, scheme, k.GVK, k.GVK.GroupVersion(), "status", statusReset)
		if err != nil {
			return nil, fmt.Errorf("status field manager for %s: %w", k.Resource, err)
		}
	}
	return s, nil
}

type defaulterFunc func(runtime.Object)

func (f defaulterFunc) Default(obj runtime.Object) {
	if f != nil {
		f(obj)
	}
}

// Prefix is the storage key prefix of the kind, ending in "/".
func (s *Store) Prefix() string { return s.prefix }

// key is the storage key of one object.
func (s *Store) key(ns, name string) string {
	if s.Kind.Namespaced {
		return s.prefix + ns + "/" + name
	}
	return s.prefix + name
}

// listPrefix is the key prefix of a namespace ("" = all namespaces).
func (s *Store) listPrefix(ns string) string {
	if s.Kind.Namespaced && ns != "" {
		return s.prefix + ns + "/"
	}
	return s.prefix
}

// New returns an empty object of the kind.
func (s *Store) New() runtime.Object {
	obj, err := s.scheme.New(s.Kind.GVK)
	if err != nil {
		// Every Kind is registered in the scheme (a test checks it).
		panic(fmt.Sprintf("kind %v not in scheme: %v", s.Kind.GVK, err))
	}
	return obj
}

// NewList returns an empty list of the kind.
func (s *Store) NewList() runtime.Object {
	obj, err := s.scheme.New(s.Kind.ListGVK())
	if err != nil {
		panic(fmt.Sprintf("kind %v not in scheme: %v", s.Kind.ListGVK(), err))
	}
	return obj
}

// Decode turns a stored value into an object with its resourceVersion set.
// It is the storage.Decoder given to the watch cache.
func (s *Store) Decode(value []byte, rev int64) (runtime.Object, error) {
	obj, _, err := s.codec.Decode(value, nil, s.New())
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", s.Kind.Resource, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(s.Kind.GVK)
	if a, err := meta.Accessor(obj); err == nil {
		a.SetResourceVersion(fmt.Sprint(rev))
	}
	return obj, nil
}

// fromKV returns the object of kv, private to the caller (a deep copy when
// the watch cache decoded it already).
func (s *Store) fromKV(kv storage.KV) (runtime.Object, error) {
	if kv.Object != nil {
		return kv.Object.DeepCopyObject(), nil
	}
	return s.Decode(kv.Value, kv.ModRevision)
}

// sharedFromKV is fromKV for read-only use: it may return the watch cache's
// own object.
func (s *Store) sharedFromKV(kv storage.KV) (runtime.Object, error) {
	if kv.Object != nil {
		return kv.Object, nil
	}
	return s.Decode(kv.Value, kv.ModRevision)
}

func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(s.Kind.GVK)
	a, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	// resourceVersion is the store's revision, never part of the value.
	rv := a.GetResourceVersion()
	a.SetResourceVersion("")
	var buf bytes.Buffer
	err = s.codec.Encode(obj, &buf)
	a.SetResourceVersion(rv)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", s.Kind.Resource, err)
	}
	return buf.Bytes(), nil
}

func setRV(obj runtime.Object, rev int64) {
	if a, err := meta.Accessor(obj); err == nil {
		a.SetResourceVersion(fmt.Sprint(rev))
	}
}

// Get returns the object ns/name.
func (s *Store) Get(ctx context.Context, ns, name string) (runtime.Object, error) {
	kv, err := s.storage.Get(ctx, s.key(ns, name))
	if err != nil {
		return nil, s.storageError(err, name)
	}
	return s.fromKV(kv)
}

// CreateOptions are the options of a create.
type CreateOptions struct {
	FieldManager string
	DryRun       bool
}

// Create stores a new object. obj must carry the namespace of the request.
func (s *Store) Create(ctx context.Context, obj runtime.Object, opts CreateOptions) (runtime.Object, error) {
	a, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if s.Kind.Namespaced {
		if a.GetNamespace() == "" {
			return nil, apierrors.NewBadRequest("the namespace of the object is not set")
		}
		if s.namespaceGate != nil {
			if err := s.namespaceGate(ctx, a.GetNamespace()); err != nil {
				return nil, err
			}
		}
	} else {
		a.SetNamespace("")
	}
	if a.GetName() == "" && a.GetGenerateName() == "" {
		return nil, apierrors.NewInvalid(s.Kind.GVK.GroupKind(), "", field.ErrorList{
			field.Required(field.NewPath("metadata", "name"), "name or generateName is required"),
		})
	}
	if a.GetResourceVersion() != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	s.prepareForCreate(obj, a)
	if s.hooks.Default != nil {
		s.hooks.Default(obj)
	}
	// A generated name is chosen after validation of the rest, and chosen
	// again if it happens to be taken.
	generated := a.GetName() == ""
	if s.onCreate != nil {
		if generated {
			a.SetName(a.GetGenerateName() + rand.String(5))
			generated = false
		}
		undo, err := s.onCreate(ctx, obj)
		if err != nil {
			undo()
			return nil, err
		}
		out, err := s.create(ctx, obj, a, opts, generated)
		if err != nil || opts.DryRun {
			undo()
		}
		return out, err
	}
	return s.create(ctx, obj, a, opts, generated)
}

// create validates and stores obj, choosing a new generated name when the
// one it tried is taken.
func (s *Store) create(ctx context.Context, obj runtime.Object, a metav1.Object, opts CreateOptions, generated bool) (runtime.Object, error) {

	for attempt := 0; ; attempt++ {
		if generated {
			a.SetName(a.GetGenerateName() + rand.String(5))
		}
		if s.hooks.ValidateCreate != nil {
			if errs := s.hooks.ValidateCreate(obj); len(errs) > 0 {
				return nil, apierrors.NewInvalid(s.Kind.GVK.GroupKind(), a.GetName(), errs)
			}
		}
		var out runtime.Object
		var err error
		if s.createFields != nil {
			out, err = s.createFields.update(s.New(), obj, managerName(opts.FieldManager))
		} else {
			out, err = s.fieldManager.Update(s.New(), obj, managerName(opts.FieldManager))
		}
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("managed fields: %w", err))
		}
		value, err := s.encode(out)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		if opts.DryRun {
			return out, nil
		}
		rev, err := s.storage.Create(ctx, s.key(a.GetNamespace(), a.GetName()), value)
		if errors.Is(err, storage.ErrExists) && generated && attempt < 8 {
			continue
		}
		if err != nil {
			return nil, s.storageError(err, a.GetName())
		}
		setRV(out, rev)
		return out, nil
	}
}

// prepareForCreate sets what the server owns on a new object.
func (s *Store) prepareForCreate(obj runtime.Object, a metav1.Object) {
	a.SetUID(uuid.NewUUID())
	a.SetCreationTimestamp(metav1.NewTime(s.now().Truncate(time.Second)))
	a.SetDeletionTimestamp(nil)
	a.SetDeletionGracePeriodSeconds(nil)
	a.SetSelfLink("")
	if s.Kind.TracksGeneration {
		a.SetGeneration(1)
	} else {
		a.SetGeneration(0)
	}
	if s.Kind.prepareForCreate != nil {
		s.Kind.prepareForCreate(obj)
	}
}

func managerName(m string) string {
	if m == "" {
		return "unknown"
	}
	return m
}

// UpdateFunc computes the new object from the current one. current is the
// caller's own copy; it is nil when the object does not exist and the
// update may create it.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// UpdateOptions are the options of an update.
type UpdateOptions struct {
	// Subresource is "" or "status".
	Subresource  string
	FieldManager string
	DryRun       bool
	// CreateIfMissing lets the update create the object (server-side
	// apply, PUT of kinds that allow it).
	CreateIfMissing bool
	// ManagedFieldsDone: the UpdateFunc maintained managedFields itself
	// (server-side apply); the store must not record an update on top.
	ManagedFieldsDone bool
}

// maxUpdateRetries bounds retries of unconditional updates that lose a
// race with another writer; conditional ones never retry (409).
const maxUpdateRetries = 16

// Update applies fn to the current object and stores the result if the
// object has not changed in between. It returns the stored object and
// whether it was created.
func (s *Store) Update(ctx context.Context, ns, name string, fn UpdateFunc, opts UpdateOptions) (runtime.Object, bool, error) {
	key := s.key(ns, name)
	recent, _ := s.storage.(storage.RecentGetter)
	for attempt := 0; ; attempt++ {
		// The first attempt starts from the watch cache's copy, as
		// Kubernetes' GuaranteedUpdate does: most updates are of objects
		// the cache holds current, and the write is conditional on the
		// revision anyway. Any failure of a stale start is retried from a
		// fresh read, so the cache never decides an outcome.
		var kv storage.KV
		var err error
		stale := false
		// A dry run would only be done again from a current read (only
		// such a read can tell that nothing changes), so it starts there.
		if attempt == 0 && recent != nil && !opts.DryRun {
			kv, stale = recent.GetRecent(key)
		}
		if !stale {
			kv, err = s.storage.Get(ctx, key)
		}
		if errors.Is(err, storage.ErrNotFound) {
			if !(opts.CreateIfMissing || s.Kind.AllowCreateOnUpdate) || opts.Subresource != "" {
				return nil, false, apierrors.NewNotFound(s.Kind.GroupResource(), name)
			}
			obj, err := fn(nil)
			if err != nil {
				return nil, false, err
			}
			if a, err := meta.Accessor(obj); err == nil {
				a.SetResourceVersion("")
			}
			out, err := s.Create(ctx, obj, CreateOptions{FieldManager: opts.FieldManager, DryRun: opts.DryRun})
			if apierrors.IsAlreadyExists(err) && attempt < maxUpdateRetries {
				continue
			}
			return out, err == nil, err
		}
		if err != nil {
			return nil, false, s.storageError(err, name)
		}
		current, err := s.fromKV(kv)
		if err != nil {
			if stale {
				continue
			}
			return nil, false, apierrors.NewInternalError(err)
		}
		old := current.DeepCopyObject()
		obj, err := fn(current)
		if err != nil {
			if stale {
				continue
			}
			return nil, false, err
		}
		out, unconditional, undo, commit, err := s.prepareUpdate(ctx, obj, old, kv.ModRevision, opts)
		if err != nil {
			undo()
			if stale {
				continue
			}
			return nil, false, err
		}
		// From here on, every return either commits or undoes the
		// reservations of the update.
		stored := false
		finish := func() {
			if stored && !opts.DryRun {
				commit()
			} else {
				undo()
			}
		}
		oa, _ := meta.Accessor(out)
		if oa.GetDeletionTimestamp() != nil && len(oa.GetFinalizers()) == 0 && !s.hasPendingFinalizers(out) &&
			(oa.GetDeletionGracePeriodSeconds() == nil || *oa.GetDeletionGracePeriodSeconds() == 0) {
			// The last finalizer is gone from an object being deleted: it
			// goes now.
			if opts.DryRun {
				finish()
				return out, false, nil
			}
			_, rev, err := s.storage.Delete(ctx, key, kv.ModRevision)
			if errors.Is(err, storage.ErrConflict) && (unconditional || stale) && attempt < maxUpdateRetries {
				finish()
				continue
			}
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				finish()
				return nil, false, s.storageError(err, name)
			}
			stored = true
			finish()
			if s.onDelete != nil {
				s.onDelete(ctx, out)
			}
			setRV(out, rev)
			return out, false, nil
		}
		value, err := s.encode(out)
		if err != nil {
			finish()
			return nil, false, apierrors.NewInternalError(err)
		}
		if bytes.Equal(value, kv.Value) || opts.DryRun {
			finish()
			if stale {
				// Only a current read can tell that nothing changes.
				continue
			}
			// Nothing changed: no write, the resourceVersion stays.
			setRV(out, kv.ModRevision)
			return out, false, nil
		}
		rev, err := s.storage.Update(ctx, key, value, kv.ModRevision)
		if errors.Is(err, storage.ErrConflict) && (unconditional || stale) && attempt < maxUpdateRetries {
			finish()
			continue
		}
		if err != nil {
			finish()
			return nil, false, s.storageError(err, name)
		}
		stored = true
		finish()
		setRV(out, rev)
		return out, false, nil
	}
}

// prepareUpdate checks and completes obj as the successor of old (stored at
// rev): preconditions, server-owned metadata, spec/status split,
// generation, defaults, validation and managedFields. It reports whether
// the caller made the update unconditional (no resourceVersion).
func (s *Store) prepareUpdate(ctx context.Context, obj, old runtime.Object, rev int64, opts UpdateOptions) (out runtime.Object, unconditional bool, undo, commit func(), err error) {
	undo, commit = func() {}, func() {}
	out, unconditional, err = s.checkUpdate(obj, old, rev, opts, func() error {
		if s.onUpdate == nil || opts.Subresource != "" {
			return nil
		}
		var err error
		undo, commit, err = s.onUpdate(ctx, obj, old)
		return err
	})
	return out, unconditional, undo, commit, err
}

// checkUpdate is prepareUpdate without the reservations, which reserve
// runs after defaulting and before validation.
func (s *Store) checkUpdate(obj, old runtime.Object, rev int64, opts UpdateOptions, reserve func() error) (runtime.Object, bool, error) {
	a, err := meta.Accessor(obj)
	if err != nil {
		return nil, false, apierrors.NewBadRequest(err.Error())
	}
	oa, _ := meta.Accessor(old)
	unconditional := a.GetResourceVersion() == ""
	if !unconditional && a.GetResourceVersion() != fmt.Sprint(rev) {
		return nil, false, s.conflict(oa.GetName())
	}
	// An unconditional update is an update of the current revision.
	a.SetResourceVersion(fmt.Sprint(rev))

	if a.GetName() != oa.GetName() {
		return nil, false, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", a.GetName(), oa.GetName()))
	}
	if s.Kind.Namespaced && a.GetNamespace() != oa.GetNamespace() {
		return nil, false, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if uid := a.GetUID(); uid != "" && uid != oa.GetUID() {
		return nil, false, apierrors.NewConflict(s.Kind.GroupResource(), oa.GetName(),
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, oa.GetUID()))
	}
	// Metadata the server owns.
	a.SetUID(oa.GetUID())
	a.SetCreationTimestamp(oa.GetCreationTimestamp())
	a.SetDeletionTimestamp(oa.GetDeletionTimestamp())
	a.SetDeletionGracePeriodSeconds(oa.GetDeletionGracePeriodSeconds())
	a.SetGeneration(oa.GetGeneration())
	a.SetSelfLink("")
	a.SetNamespace(oa.GetNamespace())
	manager := s.fieldManager
	switch opts.Subresource {
	case "status":
		// A status write keeps the spec (and everything else outside
		// status) and the owner references; like Kubernetes' status
		// strategies it may change annotations (the deployment controller
		// records revisions so), and labels except on workloads, whose
		// status strategies reset them.
		copyAllBut(obj, old, "Status")
		if s.Kind.GVK.Group == "apps" {
			a.SetLabels(oa.GetLabels())
		}
		a.SetOwnerReferences(oa.GetOwnerReferences())
		manager = s.statusManager

	case "binding":
		// Bind changed spec.nodeName and the PodScheduled condition itself,
		// which no other write may do. As in Kubernetes, whose binding
		// writes the pod straight to storage, the pod's managedFields get
		// no entry for it (real pods list no scheduler there).
		manager = nil
	case "finalize":
		// namespaces/finalize changes spec.finalizers only.
		setField(obj, "Status", old)
		a.SetLabels(oa.GetLabels())
		a.SetAnnotations(oa.GetAnnotations())
		a.SetFinalizers(oa.GetFinalizers())
	default:
		if s.Kind.HasStatus {
			setField(obj, "Status", old)
		}
		if s.hooks.Default != nil {
			s.hooks.Default(obj)
		}
		if s.Kind.TracksGeneration {
			spec, oldSpec := structField(obj, "Spec"), structField(old, "Spec")
			if spec.IsValid() && !apiequality.Semantic.DeepEqual(spec.Interface(), oldSpec.Interface()) {
				a.SetGeneration(oa.GetGeneration() + 1)
			}
		}
	}
	if oa.GetDeletionTimestamp() != nil && addsFinalizer(a.GetFinalizers(), oa.GetFinalizers()) {
		return nil, false, apierrors.NewInvalid(s.Kind.GVK.GroupKind(), a.GetName(), field.ErrorList{
			field.Forbidden(field.NewPath("metadata", "finalizers"), "no new finalizers can be added if the object is being deleted"),
		})
	}
	if err := reserve(); err != nil {
		return nil, false, err
	}
	var errs field.ErrorList
	switch opts.Subresource {

	case "binding", "finalize":
	case "status":
		if s.hooks.ValidateStatusUpdate != nil {
			errs = s.hooks.ValidateStatusUpdate(obj, old)
		}
	default:
		if s.hooks.ValidateUpdate != nil {
			errs = s.hooks.ValidateUpdate(obj, old)
		}
	}
	if len(errs) > 0 {
		return nil, false, apierrors.NewInvalid(s.Kind.GVK.GroupKind(), a.GetName(), errs)
	}
	if opts.ManagedFieldsDone || manager == nil {
		return obj, unconditional, nil
	}
	out, err := manager.Update(old, obj, managerName(opts.FieldManager))
	if err != nil {
		return nil, false, apierrors.NewInternalError(fmt.Errorf("managed fields: %w", err))
	}
	return out, unconditional, nil
}

func addsFinalizer(now, before []string) bool {
	had := map[string]bool{}
	for _, f := range before {
		had[f] = true
	}
	for _, f := range now {
		if !had[f] {
			return true
		}
	}
	return false
}

// FieldManager returns the managedFields manager of the main resource or of
// a subresource ("status"), for server-side apply.
func (s *Store) FieldManager(subresource string) *managedfields.FieldManager {
	if subresource == "status" {
		return s.statusManager
	}
	return s.fieldManager
}

func (s *Store) conflict(name string) error {
	return apierrors.NewConflict(s.Kind.GroupResource(), name,
		errors.New("the object has been modified; please apply your changes to the latest version and try again"))
}

// storageError maps a storage error to the API error Kubernetes answers.
func (s *Store) storageError(err error, name string) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(s.Kind.GroupResource(), name)
	case errors.Is(err, storage.ErrExists):
		return apierrors.NewAlreadyExists(s.Kind.GroupResource(), name)
	case errors.Is(err, storage.ErrConflict):
		return s.conflict(name)
	case errors.Is(err, storage.ErrCompacted):
		return apierrors.NewResourceExpired("The resourceVersion for the provided list is too old.")
	case errors.Is(err, storage.ErrFutureRevision):
		return apierrors.NewTimeoutError("Too large resource version", 1)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierrors.NewTimeoutError(err.Error(), 1)
	}
	return apierrors.NewInternalError(err)
}

// GroupVersionKind is the kind's GVK.
func (s *Store) GroupVersionKind() schema.GroupVersionKind { return s.Kind.GVK }

// nameFromKey returns the last segment of a storage key.
func nameFromKey(key string) string {
	return key[strings.LastIndexByte(key, '/')+1:]
}

// getRecent returns ns/name as the watch cache has it, without a round
// trip to etcd, falling back to a consistent read when the cache does not
// have it (it may be newer than the cache). Admission checks use it, as
// Kubernetes' admission plugins read informer caches.
func (s *Store) getRecent(ctx context.Context, ns, name string) (runtime.Object, error) {
	key := s.key(ns, name)
	if items, err := s.listRecent(ctx, key); err == nil {
		for _, kv := range items {
			if kv.Key == key {
				return s.sharedFromKV(kv)
			}
		}
	}
	return s.Get(ctx, ns, name)
}

// listRecent lists the keys under prefix as the watch cache has them now,
// without waiting for it to catch up with etcd (any revision will do).
func (s *Store) listRecent(ctx context.Context, prefix string) ([]storage.KV, error) {
	res, err := s.storage.List(ctx, prefix, storage.ListOptions{Revision: 1, NotOlderThan: true})
	return res.Items, err
}
