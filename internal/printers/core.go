package printers

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func namespacePrinter() Printer {
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Status", "string", "The status of the namespace"),
			ageColumn(),
		},
		func(ns *corev1.Namespace, now time.Time) ([]interface{}, error) {
			return []interface{}{ns.Name, string(ns.Status.Phase), since(ns.CreationTimestamp, now)}, nil
		},
	)
}

func configMapPrinter() Printer {
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Data", "string", corev1.ConfigMap{}.SwaggerDoc()["data"]),
			ageColumn(),
		},
		func(cm *corev1.ConfigMap, now time.Time) ([]interface{}, error) {
			return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), since(cm.CreationTimestamp, now)}, nil
		},
	)
}

func secretPrinter() Printer {
	doc := corev1.Secret{}.SwaggerDoc()
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Type", "string", doc["type"]),
			col("Data", "string", doc["data"]),
			ageColumn(),
		},
		func(s *corev1.Secret, now time.Time) ([]interface{}, error) {
			return []interface{}{s.Name, string(s.Type), int64(secretKeys(s)), since(s.CreationTimestamp, now)}, nil
		},
	)
}

// secretKeys counts the distinct keys of data and stringData: kube merges
// stringData into data when it converts a v1 Secret, so a stored Secret
// that still carries stringData prints the merged count.
func secretKeys(s *corev1.Secret) int {
	n := len(s.Data)
	for k := range s.StringData {
		if _, dup := s.Data[k]; !dup {
			n++
		}
	}
	return n
}

func serviceAccountPrinter() Printer {
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Secrets", "string", corev1.ServiceAccount{}.SwaggerDoc()["secrets"]),
			ageColumn(),
		},
		func(sa *corev1.ServiceAccount, now time.Time) ([]interface{}, error) {
			return []interface{}{sa.Name, int64(len(sa.Secrets)), since(sa.CreationTimestamp, now)}, nil
		},
	)
}

func leasePrinter() Printer {
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Holder", "string", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]),
			ageColumn(),
		},
		func(l *coordinationv1.Lease, now time.Time) ([]interface{}, error) {
			holder := ""
			if l.Spec.HolderIdentity != nil {
				holder = *l.Spec.HolderIdentity
			}
			return []interface{}{l.Name, holder, since(l.CreationTimestamp, now)}, nil
		},
	)
}
