package apiserver

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// defaultWatchTimeout is the lifetime of a watch that names no
// timeoutSeconds: kube-apiserver picks a random time between its
// min-request-timeout (30 min) and twice that, so that clients reconnect
// spread out.
func defaultWatchTimeout() time.Duration {
	return 30*time.Minute + time.Duration(rand.Int64N(int64(30*time.Minute)))
}

// watch streams watch events until the client goes, the timeout passes
// or the store ends the stream.
func (h *handler) watch(w http.ResponseWriter, r *http.Request) {
	opts, err := h.listOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.ri.Name != "" {
		// GET …/NAME?watch=true is a watch of that one object.
		opts.FieldSelector = joinSelector(opts.FieldSelector, "metadata.name="+h.ri.Name)
	}
	out, err := negotiate(r.Header.Get("Accept"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	timeout := defaultWatchTimeout()
	if opts.TimeoutSeconds != nil && *opts.TimeoutSeconds > 0 {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	wi, err := h.store.Watch(r.Context(), h.ri.Namespace, opts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer wi.Stop()

	mediaType := out.mediaType
	info, ok := runtime.SerializerInfoForMediaType(h.s.codecs.SupportedMediaTypes(), mediaType)
	if !ok || info.StreamSerializer == nil {
		mediaType = mediaJSON
		info, _ = runtime.SerializerInfoForMediaType(h.s.codecs.SupportedMediaTypes(), mediaJSON)
	}
	framer := info.StreamSerializer.Framer
	streamEnc := info.StreamSerializer.Serializer
	objEnc := info.Serializer
	contentType := mediaType
	if mediaType == mediaProtobuf {
		contentType = mediaProtobuf + ";stream=watch"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	fw := framer.NewFrameWriter(w)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var objBuf, evBuf bytes.Buffer
	includeObject := r.URL.Query().Get("includeObject")
	for {
		select {
		case <-r.Context().Done():
			return
		case <-timer.C:
			return
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return
			}
			obj := ev.Object
			switch {
			case ev.Type == watch.Error:
			case out.kind == outputMetadata:
				// Bookmarks too: a metadata informer decodes every event
				// as PartialObjectMetadata.
				obj = partialMetadata(obj)
			case out.kind == outputTable && ev.Type != watch.Bookmark:
				t, err := h.s.table(h.store, []runtime.Object{obj}, metav1.ListMeta{}, includeObject, true)
				if err != nil {
					return
				}
				obj = t
			}

			objBuf.Reset()
			if err := objEnc.Encode(obj, &objBuf); err != nil {
				h.s.log.Error("encode watch event", "err", err)
				return
			}
			we := &metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: objBuf.Bytes()}}
			evBuf.Reset()
			if err := streamEnc.Encode(we, &evBuf); err != nil {
				h.s.log.Error("encode watch event", "err", err)
				return
			}
			if _, err := fw.Write(evBuf.Bytes()); err != nil {
				return
			}
			if flusher != nil && len(wi.ResultChan()) == 0 {
				flusher.Flush()
			}
		}
	}
}

func joinSelector(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}
