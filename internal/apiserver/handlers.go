package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-dev/skiff/internal/registry"
)

// handler serves one resource request.
type handler struct {
	s     *Server
	store *registry.Store
	ri    requestInfo
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.s.writeError(w, r, err)
}

// respond writes one object in the negotiated form.
func (h *handler) respond(w http.ResponseWriter, r *http.Request, code int, obj runtime.Object) {
	out, err := negotiate(r.Header.Get("Accept"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, isStatus := obj.(*metav1.Status); isStatus {
		out.kind = outputObject
	}
	switch out.kind {
	case outputTable:
		t, err := h.s.table(h.store, []runtime.Object{obj}, metav1.ListMeta{}, r.URL.Query().Get("includeObject"), true)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.s.encode(w, code, out.mediaType, t)
	case outputMetadata:
		h.s.encode(w, code, out.mediaType, partialMetadata(obj))
	default:
		h.s.encode(w, code, out.mediaType, obj)
	}
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	obj, err := h.store.Get(r.Context(), h.ri.Namespace, h.ri.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.respond(w, r, http.StatusOK, obj)
}

func (h *handler) listOptions(r *http.Request) (*metav1.ListOptions, error) {
	opts := &metav1.ListOptions{}
	q := r.URL.Query()
	if err := metav1.Convert_url_Values_To_v1_ListOptions(&q, opts, nil); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return opts, nil
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	opts, err := h.listOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := negotiate(r.Header.Get("Accept"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.store.List(r.Context(), h.ri.Namespace, opts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lm := listMeta(res.ResourceVersion, res.Continue, res.RemainingItemCount)
	switch out.kind {
	case outputTable:
		t, err := h.s.table(h.store, res.Items, lm, r.URL.Query().Get("includeObject"), true)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.s.encode(w, http.StatusOK, out.mediaType, t)
	case outputMetadata:
		l := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadataList"}, ListMeta: lm}
		for _, obj := range res.Items {
			l.Items = append(l.Items, *partialMetadata(obj))
		}
		h.s.encode(w, http.StatusOK, out.mediaType, l)
	default:
		list := h.store.NewList()
		list.GetObjectKind().SetGroupVersionKind(h.store.Kind.ListGVK())
		if err := meta.SetList(list, res.Items); err != nil {
			h.fail(w, r, apierrors.NewInternalError(err))
			return
		}
		la, err := meta.ListAccessor(list)
		if err != nil {
			h.fail(w, r, apierrors.NewInternalError(err))
			return
		}
		la.SetResourceVersion(lm.ResourceVersion)
		la.SetContinue(lm.Continue)
		la.SetRemainingItemCount(lm.RemainingItemCount)
		h.s.encode(w, http.StatusOK, out.mediaType, list)
	}
}

// partialMetadata is the metadata-only form of obj.
func partialMetadata(obj runtime.Object) *metav1.PartialObjectMetadata {
	p := &metav1.PartialObjectMetadata{}
	if a, err := meta.Accessor(obj); err == nil {
		p = meta.AsPartialObjectMetadata(a)
	}
	p.TypeMeta = metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}
	return p
}

func isDryRun(r *http.Request) bool {
	for _, v := range r.URL.Query()["dryRun"] {
		if v == "All" {
			return true
		}
	}
	return false
}

// fieldManager is the manager of a write: the fieldManager parameter or,
// as in Kubernetes, the user agent up to its first "/".
func fieldManager(r *http.Request) string {
	if m := r.URL.Query().Get("fieldManager"); m != "" {
		return m
	}
	ua := r.UserAgent()
	if i := strings.IndexByte(ua, '/'); i >= 0 {
		ua = ua[:i]
	}
	if len(ua) > 128 {
		ua = ua[:128]
	}
	return ua
}

func (h *handler) decode(w http.ResponseWriter, r *http.Request) (runtime.Object, error) {
	return h.decodeAs(w, r, h.store.Kind.GVK)
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	obj, err := h.decode(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := meta.Accessor(obj)
	if err != nil {
		h.fail(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	if h.store.Kind.Namespaced {
		if a.GetNamespace() != "" && a.GetNamespace() != h.ri.Namespace {
			h.fail(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
		a.SetNamespace(h.ri.Namespace)
	}
	out, err := h.store.Create(r.Context(), obj, registry.CreateOptions{FieldManager: fieldManager(r), DryRun: isDryRun(r)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.respond(w, r, http.StatusCreated, out)
}

func (h *handler) update(w http.ResponseWriter, r *http.Request, sub string) {
	obj, err := h.decode(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := meta.Accessor(obj)
	if err != nil {
		h.fail(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	if a.GetName() != h.ri.Name {
		h.fail(w, r, apierrors.NewBadRequest("the name of the object ("+a.GetName()+") does not match the name on the URL ("+h.ri.Name+")"))
		return
	}
	if h.store.Kind.Namespaced {
		if a.GetNamespace() != "" && a.GetNamespace() != h.ri.Namespace {
			h.fail(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
		a.SetNamespace(h.ri.Namespace)
	}
	out, created, err := h.store.Update(r.Context(), h.ri.Namespace, h.ri.Name, func(cur runtime.Object) (runtime.Object, error) {
		if sub == "finalize" && cur != nil {
			// Only spec.finalizers changes through namespaces/finalize.
			ns, cns := obj.(*corev1.Namespace), cur.(*corev1.Namespace)
			cns.Spec.Finalizers = ns.Spec.Finalizers
			cns.ResourceVersion = ns.ResourceVersion
			return cns, nil
		}
		return obj.DeepCopyObject(), nil
	}, registry.UpdateOptions{Subresource: sub, FieldManager: fieldManager(r), DryRun: isDryRun(r)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	h.respond(w, r, code, out)
}

// deleteOptions reads DeleteOptions from the body or the query.
func (h *handler) deleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := decodeDeleteOptions(body, r.Header.Get("Content-Type"), opts); err != nil {
			return nil, apierrors.NewBadRequest("invalid delete options: " + err.Error())
		}
	} else {
		q := r.URL.Query()
		if err := metav1.Convert_url_Values_To_v1_DeleteOptions(&q, opts, nil); err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	}
	if isDryRun(r) {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return opts, nil
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	opts, err := h.deleteOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	obj, gone, err := h.store.Delete(r.Context(), h.ri.Namespace, h.ri.Name, opts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !gone {
		// Marked for deletion (finalizers or a grace period): the object,
		// 202 when dependents are deleted first, as in Kubernetes.
		code := http.StatusOK
		if opts.PropagationPolicy != nil && *opts.PropagationPolicy == metav1.DeletePropagationForeground {
			code = http.StatusAccepted
		}
		h.respond(w, r, code, obj)
		return
	}
	a, _ := meta.Accessor(obj)
	h.respond(w, r, http.StatusOK, successStatus(h.ri.Name, h.store.Kind.GVK.GroupKind(), h.store.Kind.Resource, a.GetUID()))
}

func (h *handler) deleteCollection(w http.ResponseWriter, r *http.Request) {
	lo, err := h.listOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	opts, err := h.deleteOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.store.List(r.Context(), h.ri.Namespace, lo)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, obj := range res.Items {
		a, _ := meta.Accessor(obj)
		if _, _, err := h.store.Delete(r.Context(), a.GetNamespace(), a.GetName(), opts); err != nil && !apierrors.IsNotFound(err) {
			h.fail(w, r, err)
			return
		}
	}
	h.respond(w, r, http.StatusOK, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})
}

// podAction serves pods/binding and pods/eviction.
func (h *handler) podAction(w http.ResponseWriter, r *http.Request) {
	gvk := corev1.SchemeGroupVersion.WithKind("Binding")
	if h.ri.Subresource == "eviction" {
		gvk = policyv1.SchemeGroupVersion.WithKind("Eviction")
	}
	obj, err := h.decodeAs(w, r, gvk)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := meta.Accessor(obj)
	if err != nil {
		h.fail(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	if a.GetName() == "" {
		a.SetName(h.ri.Name)
	}
	if a.GetName() != h.ri.Name {
		h.fail(w, r, apierrors.NewBadRequest("name in URL does not match name in "+gvk.Kind+" object"))
		return
	}
	var result runtime.Object
	switch o := obj.(type) {
	case *corev1.Binding:
		result, err = h.store.Bind(r.Context(), h.ri.Namespace, o)
	case *policyv1.Eviction:
		result, err = h.store.Evict(r.Context(), h.ri.Namespace, o)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.respond(w, r, http.StatusCreated, result)
}

// decodeAs decodes the request body as gvk (a subresource's kind).
func (h *handler) decodeAs(w http.ResponseWriter, r *http.Request, gvk schema.GroupVersionKind) (runtime.Object, error) {
	fv, err := parseFieldValidation(r)
	if err != nil {
		return nil, err
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return h.s.decodeBody(w, body, r.Header.Get("Content-Type"), gvk, fv)
}

func (h *handler) getScale(w http.ResponseWriter, r *http.Request) {
	obj, err := h.store.Get(r.Context(), h.ri.Namespace, h.ri.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.respondScale(w, r, obj)
}

// respondScale answers the autoscaling/v1 Scale of obj.
func (h *handler) respondScale(w http.ResponseWriter, r *http.Request, obj runtime.Object) {
	sc, err := h.store.Scale(obj)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.respond(w, r, http.StatusOK, sc)
}

func (h *handler) updateScale(w http.ResponseWriter, r *http.Request) {
	obj, err := h.decodeAs(w, r, autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeScale(w, r, obj.(*autoscalingv1.Scale))
}

func (h *handler) writeScale(w http.ResponseWriter, r *http.Request, sc *autoscalingv1.Scale) {
	if sc.Name != h.ri.Name {
		h.fail(w, r, apierrors.NewBadRequest("the name of the object ("+sc.Name+") does not match the name on the URL ("+h.ri.Name+")"))
		return
	}
	out, _, err := h.store.Update(r.Context(), h.ri.Namespace, h.ri.Name, h.store.SetReplicas(sc),
		registry.UpdateOptions{FieldManager: fieldManager(r), DryRun: isDryRun(r)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.respondScale(w, r, out)
}

// decodeDeleteOptions decodes a DeleteOptions body. Clients send it under
// any group version (or none), so it is decoded by shape: JSON, or the
// protobuf envelope around the DeleteOptions message.
func decodeDeleteOptions(body []byte, ct string, opts *metav1.DeleteOptions) error {
	if strings.HasPrefix(ct, mediaProtobuf) {
		const magic = "k8s\x00"
		if !bytes.HasPrefix(body, []byte(magic)) {
			return errors.New("protobuf body without the k8s envelope")
		}
		var unk runtime.Unknown
		if err := unk.Unmarshal(body[len(magic):]); err != nil {
			return err
		}
		return opts.Unmarshal(unk.Raw)
	}
	return json.Unmarshal(body, opts)
}
