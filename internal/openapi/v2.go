package openapi

import (
	"bytes"
	"crypto/sha512"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"github.com/munnerz/goautoneg"
	"google.golang.org/protobuf/proto"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Media types of /openapi/v2. client-go's discovery client asks for the
// protobuf form only (with the deprecated "@" subtype), so it must be
// served; the answer is labelled with the parseable subtype, as
// kube-apiserver does, because Go's mime parser rejects the "@".
const (
	mimeJSON             = "application/json"
	subV2Proto           = "com.github.proto-openapi.spec.v2.v1.0+protobuf"
	subV2ProtoDeprecated = "com.github.proto-openapi.spec.v2@v1.0+protobuf"
	mimeV2ProtoResponse  = "application/" + subV2Proto
)

// v2Handler serves the v2 document as JSON or protobuf, serializing it on
// first use. kube-openapi's own handler would do the same but pulls in a
// gzip module this repository does not carry.
type v2Handler struct {
	swagger func() *spec.Swagger

	once     sync.Once
	json     []byte
	pb       []byte
	etag     string
	modified time.Time
	err      error
}

// newV2Handler serves the document swagger returns; it is called once.
func newV2Handler(swagger func() *spec.Swagger) *v2Handler { return &v2Handler{swagger: swagger} }

func (h *v2Handler) load() error {
	h.once.Do(func() {
		h.json, h.err = h.swagger().MarshalJSON()
		if h.err != nil {
			h.err = fmt.Errorf("marshal openapi v2: %w", h.err)
			return
		}
		doc, err := openapi_v2.ParseDocument(h.json)
		if err != nil {
			h.err = fmt.Errorf("parse openapi v2: %w", err)
			return
		}
		if h.pb, err = proto.Marshal(doc); err != nil {
			h.err = fmt.Errorf("marshal openapi v2 protobuf: %w", err)
			return
		}
		h.etag = fmt.Sprintf("%X", sha512.Sum512(h.json))
		h.modified = time.Now()
	})
	return h.err
}

func (h *v2Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.load(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	w.Header().Add("Vary", "Accept")
	for _, c := range goautoneg.ParseAccept(accept) {
		var body []byte
		var ctype string
		switch {
		case (c.Type == "application" || c.Type == "*") && (c.SubType == "json" || c.SubType == "*"):
			body, ctype = h.json, mimeJSON
		case c.Type == "application" && (c.SubType == subV2Proto || c.SubType == subV2ProtoDeprecated):
			body, ctype = h.pb, mimeV2ProtoResponse
		default:
			continue
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Etag", strconv.Quote(h.etag))
		http.ServeContent(w, r, "", h.modified, bytes.NewReader(body))
		return
	}
	http.Error(w, "not acceptable", http.StatusNotAcceptable)
}
