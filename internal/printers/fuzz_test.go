package printers

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzCells feeds arbitrary JSON objects, as the API server might hold
// them, to every printer: each must return a full row or an error, never
// panic.
func FuzzCells(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"metadata":{"name":"p","deletionTimestamp":"2025-06-01T11:00:00Z"},"spec":{"initContainers":[{"name":"i","restartPolicy":"Always"}],"containers":[{"name":"c"}]},"status":{"phase":"Running","initContainerStatuses":[{"name":"i","started":true,"state":{"terminated":{"exitCode":1,"signal":9}}}],"containerStatuses":[{"name":"c","restartCount":2,"lastState":{"terminated":{"finishedAt":"2025-06-01T11:59:00Z"}},"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}`,
		`{"spec":{"type":"LoadBalancer","ports":[{"port":80,"nodePort":30080}],"externalIPs":["1.2.3.4"]},"status":{"loadBalancer":{"ingress":[{"hostname":"h"}]}}}`,
		`{"subsets":[{"addresses":[{"ip":"::1"}],"ports":[{"port":1},{"port":2}]}]}`,
		`{"series":{"count":3,"lastObservedTime":"2025-06-01T11:59:59.000000Z"},"involvedObject":{"kind":"Pod"}}`,
		`{"metadata":{"ownerReferences":[{"apiVersion":"a/b/c","kind":"X","name":"y","controller":true,"uid":"u"}]}}`,
		`{"spec":{"selector":{"matchExpressions":[{"key":"a","operator":"Bogus"}]}}}`,
	} {
		f.Add([]byte(seed))
	}
	zeros := zeroObjects()
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]interface{}
		if json.Unmarshal(data, &m) != nil || m == nil {
			return
		}
		for gr := range zeros {
			p, _ := For(gr)
			cells, err := p.Cells(&unstructured.Unstructured{Object: m}, now)
			if err == nil && len(cells) != len(p.Columns) {
				t.Fatalf("%v: %d cells for %d columns", gr, len(cells), len(p.Columns))
			}
		}
		if cells, err := Default().Cells(&unstructured.Unstructured{Object: m}, now); err == nil && len(cells) != 2 {
			t.Fatalf("default: %d cells", len(cells))
		}
	})
}
