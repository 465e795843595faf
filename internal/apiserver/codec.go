package apiserver

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Media types the API serves.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// outputKind is what the client asked the answer to be.
type outputKind int

const (
	outputObject   outputKind = iota // the object itself
	outputTable                      // meta.k8s.io/v1 Table
	outputMetadata                   // meta.k8s.io/v1 PartialObjectMetadata(List)
)

// output is the negotiated answer format.
type output struct {
	kind      outputKind
	mediaType string // mediaJSON, mediaYAML or mediaProtobuf
}

// negotiate picks the first acceptable entry of the Accept header.
func negotiate(accept string) (output, error) {
	if strings.TrimSpace(accept) == "" {
		return output{mediaType: mediaJSON}, nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		var o output
		switch mt {
		case mediaJSON, "application/*", "*/*", "application/json-seq":
			o.mediaType = mediaJSON
		case mediaYAML:
			o.mediaType = mediaYAML
		case mediaProtobuf:
			o.mediaType = mediaProtobuf
		default:
			continue
		}
		switch params["as"] {
		case "":
		case "Table":
			if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			o.kind = outputTable
			// Tables are answered in JSON (or YAML), as clients request them.
			if o.mediaType == mediaProtobuf {
				continue
			}
		case "PartialObjectMetadata", "PartialObjectMetadataList":
			if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			o.kind = outputMetadata
		default:
			continue
		}
		return o, nil
	}
	return output{}, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "", "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf", 0, false)
}

// encode writes obj in the negotiated media type.
func (s *Server) encode(w http.ResponseWriter, code int, mediaType string, obj runtime.Object) {
	info, ok := runtime.SerializerInfoForMediaType(s.codecs.SupportedMediaTypes(), mediaType)
	if !ok {
		info, _ = runtime.SerializerInfoForMediaType(s.codecs.SupportedMediaTypes(), mediaJSON)
		mediaType = mediaJSON
	}
	var buf bytes.Buffer
	if err := info.Serializer.Encode(obj, &buf); err != nil {
		st := statusOf(fmt.Errorf("encode response: %w", err))
		s.writeJSON(w, int(st.Code), &st)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// writeJSON writes obj as JSON.
func (s *Server) writeJSON(w http.ResponseWriter, code int, obj runtime.Object) {
	s.encode(w, code, mediaJSON, obj)
}

// maxBodyBytes bounds request bodies (kube-apiserver allows 3 MiB objects
// in etcd; requests a little more).
const maxBodyBytes = 3 << 20

// readBody reads a request body, bounded.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("read request body: %v", err))
	}
	if len(body) > maxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError("limit is 3145728")
	}
	return body, nil
}

// fieldValidation is the fieldValidation query parameter.
type fieldValidation string

const (
	validateStrict fieldValidation = "Strict"
	validateWarn   fieldValidation = "Warn"
	validateIgnore fieldValidation = "Ignore"
)

func parseFieldValidation(r *http.Request) (fieldValidation, error) {
	switch v := r.URL.Query().Get("fieldValidation"); v {
	case "", "Warn":
		return validateWarn, nil
	case "Strict":
		return validateStrict, nil
	case "Ignore":
		return validateIgnore, nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got %q", v))
	}
}

// decodeBody decodes a request body of Content-Type ct into a new object
// of gvk. Unknown or duplicate fields fail under Strict, become warnings
// under Warn and are dropped under Ignore, as in Kubernetes.
func (s *Server) decodeBody(w http.ResponseWriter, body []byte, ct string, gvk schema.GroupVersionKind, fv fieldValidation) (runtime.Object, error) {
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" {
		mt, err = mediaJSON, nil
	}
	if err != nil {
		return nil, unsupportedMediaType(ct)
	}
	info, ok := runtime.SerializerInfoForMediaType(s.codecs.SupportedMediaTypes(), mt)
	if !ok {
		return nil, unsupportedMediaType(ct)
	}
	into, err := s.scheme.New(gvk)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	decoder := info.Serializer
	if info.StrictSerializer != nil {
		decoder = info.StrictSerializer
	}
	obj, actual, err := decoder.Decode(body, &gvk, into)
	if err != nil && runtime.IsStrictDecodingError(err) && fv != validateStrict {
		if fv == validateWarn {
			for _, e := range strictErrors(err) {
				addWarning(w, e)
			}
		}
		// Decode again, leniently: the strict pass reported and stopped.
		obj, actual, err = info.Serializer.Decode(body, &gvk, into)
	}
	if err != nil {
		// Strict decoding errors read "strict decoding error: unknown
		// field …" after this prefix, as kube-apiserver words them.
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
	}
	if actual != nil && (actual.Kind != gvk.Kind || actual.GroupVersion() != gvk.GroupVersion()) {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", actual.GroupVersion(), gvk.GroupVersion()))
	}
	if obj == nil {
		return nil, apierrors.NewBadRequest("empty request body")
	}
	return obj, nil
}

// strictErrors lists the messages of a strict decoding error.
func strictErrors(err error) []string {
	type errs interface{ Errors() []error }
	var out []string
	if e, ok := err.(errs); ok {
		for _, x := range e.Errors() {
			out = append(out, x.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// addWarning adds a Warning header as kube-apiserver does.
func addWarning(w http.ResponseWriter, msg string) {
	w.Header().Add("Warning", fmt.Sprintf("299 - %q", msg))
}

// listMeta is the list metadata of an answer.
func listMeta(rv, cont string, remaining *int64) metav1.ListMeta {
	return metav1.ListMeta{ResourceVersion: rv, Continue: cont, RemainingItemCount: remaining}
}
