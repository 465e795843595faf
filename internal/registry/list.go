package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/internal/storage"
)

// Predicate selects objects by label and field selectors.
type Predicate struct {
	Label labels.Selector
	Field fields.Selector
}

// Everything reports whether the predicate selects every object.
func (p Predicate) Everything() bool {
	return (p.Label == nil || p.Label.Empty()) && (p.Field == nil || p.Field.Empty())
}

// Predicate parses the selectors of opts against the kind's selectable
// fields; an unknown field is a BadRequest as in Kubernetes.
func (s *Store) Predicate(opts *metav1.ListOptions) (Predicate, error) {
	p := Predicate{Label: labels.Everything(), Field: fields.Everything()}
	if opts.LabelSelector != "" {
		sel, err := labels.Parse(opts.LabelSelector)
		if err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		p.Label = sel
	}
	if opts.FieldSelector != "" {
		sel, err := fields.ParseSelector(opts.FieldSelector)
		if err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		known := s.fieldSet(s.New())
		for _, r := range sel.Requirements() {
			if _, ok := known[r.Field]; !ok {
				return p, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
			}
		}
		p.Field = sel
	}
	return p, nil
}

// fieldSet returns the selectable fields of obj.
func (s *Store) fieldSet(obj runtime.Object) fields.Set {
	set := fields.Set{}
	if s.Kind.fields != nil {
		for k, v := range s.Kind.fields(obj) {
			set[k] = v
		}
	}
	if a, err := meta.Accessor(obj); err == nil {
		set["metadata.name"] = a.GetName()
		if s.Kind.Namespaced {
			set["metadata.namespace"] = a.GetNamespace()
		}
	} else {
		set["metadata.name"] = ""
		set["metadata.namespace"] = ""
	}
	if s.Kind.Namespaced {
		if _, ok := set["metadata.namespace"]; !ok {
			set["metadata.namespace"] = ""
		}
	}
	return set
}

// Matches reports whether obj is selected by p.
func (s *Store) Matches(p Predicate, obj runtime.Object) bool {
	if p.Label != nil && !p.Label.Empty() {
		a, err := meta.Accessor(obj)
		if err != nil || !p.Label.Matches(labels.Set(a.GetLabels())) {
			return false
		}
	}
	if p.Field != nil && !p.Field.Empty() {
		return p.Field.Matches(s.fieldSet(obj))
	}
	return true
}

// ListResult is one page of a list. Items may be shared with the watch
// cache: callers must not mutate them.
type ListResult struct {
	Items              []runtime.Object
	ResourceVersion    string
	Continue           string
	RemainingItemCount *int64
}

// continueToken is the opaque continue value, shaped as Kubernetes' own
// (base64 JSON with the revision of the first page and the next key).
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

// List returns the objects of namespace ns ("" = all) that match opts.
func (s *Store) List(ctx context.Context, ns string, opts *metav1.ListOptions) (*ListResult, error) {
	pred, err := s.Predicate(opts)
	if err != nil {
		return nil, err
	}
	prefix := s.listPrefix(ns)
	lo := storage.ListOptions{}
	if opts.Continue != "" {
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
			return nil, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
		}
		tok, err := decodeContinue(opts.Continue)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid continue token: %v", err))
		}
		lo.Revision = tok.ResourceVersion
		lo.StartKey = prefix + tok.StartKey
		if !strings.HasPrefix(lo.StartKey, prefix) || strings.Contains(tok.StartKey, "..") {
			return nil, apierrors.NewBadRequest("invalid continue token")
		}
	} else {
		rev, err := parseRV(opts.ResourceVersion)
		if err != nil {
			return nil, err
		}
		switch opts.ResourceVersionMatch {
		case "", metav1.ResourceVersionMatchNotOlderThan:
			lo.Revision, lo.NotOlderThan = rev, true
			if opts.ResourceVersionMatch != "" && opts.ResourceVersion == "" {
				return nil, apierrors.NewBadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
			}
		case metav1.ResourceVersionMatchExact:
			if rev == 0 {
				return nil, apierrors.NewBadRequest("resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"")
			}
			lo.Revision = rev
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("resourceVersionMatch: Unsupported value: %q", opts.ResourceVersionMatch))
		}
		// A limit with resourceVersion=0 is ignored (served whole from the
		// cache), as in Kubernetes.
		if opts.ResourceVersion == "0" {
			opts.Limit = 0
		}
	}
	if opts.Limit < 0 {
		return nil, apierrors.NewBadRequest("limit must be non-negative")
	}
	out := &ListResult{}
	// Fill the page with matching objects; with a selector this may take
	// several storage pages, all read at the revision of the first.
	for {
		lo.Limit = 0
		if opts.Limit > 0 {
			lo.Limit = opts.Limit - int64(len(out.Items))
			if !pred.Everything() && lo.Limit < 100 {
				lo.Limit = 100
			}
		}
		res, err := s.storage.List(ctx, prefix, lo)
		if err != nil {
			return nil, s.storageError(err, "")
		}
		if out.ResourceVersion == "" {
			out.ResourceVersion = strconv.FormatInt(res.Revision, 10)
			lo.Revision, lo.NotOlderThan = res.Revision, false
		}
		full, left := false, int64(0)
		for i, kv := range res.Items {
			obj, err := s.sharedFromKV(kv)
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			if !s.Matches(pred, obj) {
				continue
			}
			out.Items = append(out.Items, obj)
			if opts.Limit > 0 && int64(len(out.Items)) == opts.Limit {
				left = int64(len(res.Items) - (i + 1))
				if left > 0 {
					out.Continue = encodeContinue(res.Revision, strings.TrimPrefix(res.Items[i+1].Key, prefix))
				} else if res.More {
					out.Continue = encodeContinue(res.Revision, strings.TrimPrefix(res.NextKey, prefix))
				}
				full = true
				break
			}
		}
		if full || !res.More {
			// The count of what is left is known only without a selector.
			if out.Continue != "" && pred.Everything() && res.RemainingCount >= 0 {
				rem := left + res.RemainingCount
				out.RemainingItemCount = &rem
			}
			return out, nil
		}
		lo.StartKey = res.NextKey
	}
}

func parseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
	}
	return n, nil
}

func encodeContinue(rev int64, start string) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", ResourceVersion: rev, StartKey: start})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string) (continueToken, error) {
	var tok continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return tok, err
	}
	if err := json.Unmarshal(b, &tok); err != nil {
		return tok, err
	}
	if tok.APIVersion != "meta.k8s.io/v1" || tok.ResourceVersion <= 0 {
		return tok, fmt.Errorf("unsupported continue token")
	}
	return tok, nil
}
