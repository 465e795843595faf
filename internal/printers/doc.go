// Package printers renders Kubernetes objects as the rows of a
// meta.k8s.io/v1 Table, column for column and cell for cell the way
// kube-apiserver's server-side printers do (kubernetes
// pkg/printers/internalversion). kubectl asks the API server for
// Tables (Accept: application/json;as=Table;v=v1;g=meta.k8s.io) and prints
// whatever columns it gets back, so getting these right is what makes
// `kubectl get` look like it does against a real cluster.
//
// # Usage
//
// The API server looks a printer up by group-resource and falls back to
// the generic NAME / CREATED AT table when there is none:
//
//	p, ok := printers.For(schema.GroupResource{Group: "apps", Resource: "deployments"})
//	if !ok {
//		p = printers.Default()
//	}
//	cells, err := p.Cells(obj, time.Now())
//
// Columns always include the wide (-o wide) columns, marked Priority 1,
// because kube-apiserver generates tables with wide output on and kubectl
// hides priority>0 columns itself. Cells has one entry per column.
//
// # Input objects
//
// Cells takes the versioned types from k8s.io/api (core/v1, apps/v1,
// discovery/v1, coordination/v1, events/v1, storage/v1) as pointers, or an
// *unstructured.Unstructured carrying the same kind, which is converted
// first. A nil or zero object yields a row of placeholder cells, never a
// panic; an object of the wrong type yields an error.
//
// # Caveats
//
// Upstream prints internal (defaulted) types. Where a versioned field is a
// pointer that defaulting always fills (replicas of deployments,
// replicasets and statefulsets) a nil value is printed as its default.
// Where a versioned object carries both a plural and a singular field that
// kube keeps in sync (podIPs/podIP, clusterIPs/clusterIP) the plural wins
// and the singular is the fallback. Everything else is printed as found,
// so an undefaulted object (e.g. a Service without spec.type) prints the
// way kube would print that same object.
//
// # Imports
//
// This package may import k8s.io/api, k8s.io/apimachinery and the standard
// library only; it holds no state and no globals that mutate.
package printers
