package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/skiff-dev/skiff/internal/registry"
)

// patchType reads the patch type from the Content-Type; anything else is
// 415 as in Kubernetes.
func patchType(r *http.Request) (types.PatchType, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", unsupportedMediaType(r.Header.Get("Content-Type"))
	}
	switch pt := types.PatchType(mt); pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType:
		return pt, nil
	}
	return "", unsupportedMediaType(r.Header.Get("Content-Type"))
}

// applyPatch applies a JSON, merge or strategic-merge patch to the JSON of
// an object whose Go type is schemaType.
func applyPatch(pt types.PatchType, current, patch []byte, schemaType runtime.Object) ([]byte, error) {
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out, err := p.Apply(current)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
		return out, nil
	case types.MergePatchType:
		out, err := jsonpatch.MergePatch(current, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	case types.StrategicMergePatchType:
		var m map[string]any
		if err := json.Unmarshal(patch, &m); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err))
		}
		out, err := strategicpatch.StrategicMergePatch(current, patch, schemaType)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	}
	return nil, unsupportedMediaType(string(pt))
}

// patch serves PATCH on an object or its status.
func (h *handler) patch(w http.ResponseWriter, r *http.Request, sub string) {
	pt, err := patchType(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	fv, err := parseFieldValidation(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	patch, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	manager := fieldManager(r)
	opts := registry.UpdateOptions{Subresource: sub, FieldManager: manager, DryRun: isDryRun(r)}
	var fn registry.UpdateFunc
	if pt == types.ApplyYAMLPatchType {
		if r.URL.Query().Get("fieldManager") == "" {
			h.fail(w, r, apierrors.NewBadRequest("PATCH requests with apply content type must specify fieldManager"))
			return
		}
		force := r.URL.Query().Get("force") == "true"
		applied, err := h.appliedObject(patch)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		opts.CreateIfMissing = sub == ""
		opts.ManagedFieldsDone = true
		fm := h.store.FieldManager(sub)
		if fm == nil {
			h.fail(w, r, methodNotSupported(h.store.Kind.GroupResource(), "apply"))
			return
		}
		fn = func(cur runtime.Object) (runtime.Object, error) {
			live := cur
			if live == nil {
				live = h.store.New()
				live.GetObjectKind().SetGroupVersionKind(h.store.Kind.GVK)
				a, _ := meta.Accessor(live)
				a.SetName(h.ri.Name)
				a.SetNamespace(h.ri.Namespace)
			}
			out, err := fm.Apply(live, applied.DeepCopy(), manager, force)
			if err != nil {
				return nil, err
			}
			if a, err := meta.Accessor(out); err == nil {
				// Apply is unconditional unless the applied config names a
				// resourceVersion.
				a.SetResourceVersion(applied.GetResourceVersion())
				if cur == nil {
					a.SetResourceVersion("")
				}
			}
			return out, nil
		}
	} else {
		fn = func(cur runtime.Object) (runtime.Object, error) {
			curJSON, err := json.Marshal(cur)
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			patched, err := applyPatch(pt, curJSON, patch, h.store.New())
			if err != nil {
				return nil, err
			}
			obj, err := h.s.decodeBody(w, patched, mediaJSON, h.store.Kind.GVK, fv)
			if err != nil {
				if st, ok := err.(apierrors.APIStatus); ok && st.Status().Reason == metav1.StatusReasonBadRequest {
					// A patch that decodes into an invalid object is 422.
					return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "patch", h.store.Kind.GroupResource(), h.ri.Name, st.Status().Message, 0, false)
				}
				return nil, err
			}
			// A patch that names no resourceVersion is unconditional: it
			// was computed against the object it is applied to.
			a, _ := meta.Accessor(obj)
			ca, _ := meta.Accessor(cur)
			if a.GetResourceVersion() == ca.GetResourceVersion() && !patchSetsRV(pt, patch) {
				a.SetResourceVersion("")
			}
			return obj, nil
		}
	}
	out, created, err := h.store.Update(r.Context(), h.ri.Namespace, h.ri.Name, fn, opts)
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

// patchSetsRV reports whether a patch names metadata.resourceVersion (a
// precondition the update must honour).
func patchSetsRV(pt types.PatchType, patch []byte) bool {
	if pt == types.JSONPatchType {
		var ops []map[string]any
		if json.Unmarshal(patch, &ops) == nil {
			for _, op := range ops {
				if op["path"] == "/metadata/resourceVersion" {
					return true
				}
			}
		}
		return false
	}
	var m struct {
		Metadata struct {
			ResourceVersion *string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	return json.Unmarshal(patch, &m) == nil && m.Metadata.ResourceVersion != nil
}

// appliedObject parses a server-side apply body and checks it addresses
// this request's object.
func (h *handler) appliedObject(patch []byte) (*unstructured.Unstructured, error) {
	js, err := yaml.YAMLToJSON(patch)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding apply configuration: %v", err))
	}
	gvk := u.GroupVersionKind()
	if gvk != h.store.Kind.GVK {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", gvk.GroupVersion(), h.store.Kind.GVK.GroupVersion()))
	}
	if u.GetName() != h.ri.Name {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", u.GetName(), h.ri.Name))
	}
	if h.store.Kind.Namespaced && u.GetNamespace() != "" && u.GetNamespace() != h.ri.Namespace {
		return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if h.store.Kind.Namespaced {
		u.SetNamespace(h.ri.Namespace)
	}
	return u, nil
}

// patchScale serves PATCH on …/scale: the patch applies to the Scale.
func (h *handler) patchScale(w http.ResponseWriter, r *http.Request) {
	pt, err := patchType(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if pt == types.ApplyYAMLPatchType {
		h.fail(w, r, unsupportedMediaType(string(pt)))
		return
	}
	patch, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var sc *autoscalingv1.Scale
	out, _, err := h.store.Update(r.Context(), h.ri.Namespace, h.ri.Name, func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(h.store.Kind.GroupResource(), h.ri.Name)
		}
		curScale, err := h.store.Scale(cur)
		if err != nil {
			return nil, err
		}
		js, err := json.Marshal(curScale)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		patched, err := applyPatch(pt, js, patch, &autoscalingv1.Scale{})
		if err != nil {
			return nil, err
		}
		sc = &autoscalingv1.Scale{}
		if err := json.Unmarshal(patched, sc); err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if sc.ResourceVersion == curScale.ResourceVersion && !patchSetsRV(pt, patch) {
			sc.ResourceVersion = ""
		}
		return h.store.SetReplicas(sc)(cur)
	}, registry.UpdateOptions{FieldManager: fieldManager(r), DryRun: isDryRun(r)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.respondScale(w, r, out)
}
