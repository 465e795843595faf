package printers

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Upstream documents the workload columns from the extensions/v1beta1
// types; the same SwaggerDoc is used here so descriptions match.

func deploymentPrinter() Printer {
	status := extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Ready", "string", "Number of the pod with ready state"),
			col("Up-to-date", "string", status["updatedReplicas"]),
			col("Available", "string", status["availableReplicas"]),
			ageColumn(),
			wide(col("Containers", "string", containersDoc)),
			wide(col("Images", "string", imagesDoc)),
			wide(col("Selector", "string", extensionsv1beta1.DeploymentSpec{}.SwaggerDoc()["selector"])),
		},
		deploymentCells,
	)
}

func deploymentCells(d *appsv1.Deployment, now time.Time) ([]interface{}, error) {
	selector := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		selector = s.String()
	}
	names, images := containerCells(d.Spec.Template.Spec.Containers)
	return []interface{}{
		d.Name,
		fmt.Sprintf("%d/%d", int64(d.Status.ReadyReplicas), int64(replicas(d.Spec.Replicas))),
		int64(d.Status.UpdatedReplicas),
		int64(d.Status.AvailableReplicas),
		since(d.CreationTimestamp, now),
		names, images, selector,
	}, nil
}

func replicaSetPrinter() Printer {
	spec := extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()
	status := extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Desired", "integer", spec["replicas"]),
			col("Current", "integer", status["replicas"]),
			col("Ready", "integer", status["readyReplicas"]),
			ageColumn(),
			wide(col("Containers", "string", containersDoc)),
			wide(col("Images", "string", imagesDoc)),
			wide(col("Selector", "string", spec["selector"])),
		},
		func(rs *appsv1.ReplicaSet, now time.Time) ([]interface{}, error) {
			names, images := containerCells(rs.Spec.Template.Spec.Containers)
			return []interface{}{
				rs.Name,
				int64(replicas(rs.Spec.Replicas)),
				int64(rs.Status.Replicas),
				int64(rs.Status.ReadyReplicas),
				since(rs.CreationTimestamp, now),
				names, images, metav1.FormatLabelSelector(rs.Spec.Selector),
			}, nil
		},
	)
}

func daemonSetPrinter() Printer {
	status := extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Desired", "integer", status["desiredNumberScheduled"]),
			col("Current", "integer", status["currentNumberScheduled"]),
			col("Ready", "integer", status["numberReady"]),
			col("Up-to-date", "integer", status["updatedNumberScheduled"]),
			col("Available", "integer", status["numberAvailable"]),
			col("Node Selector", "string", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
			ageColumn(),
			wide(col("Containers", "string", containersDoc)),
			wide(col("Images", "string", imagesDoc)),
			wide(col("Selector", "string", extensionsv1beta1.DaemonSetSpec{}.SwaggerDoc()["selector"])),
		},
		func(ds *appsv1.DaemonSet, now time.Time) ([]interface{}, error) {
			names, images := containerCells(ds.Spec.Template.Spec.Containers)
			return []interface{}{
				ds.Name,
				int64(ds.Status.DesiredNumberScheduled),
				int64(ds.Status.CurrentNumberScheduled),
				int64(ds.Status.NumberReady),
				int64(ds.Status.UpdatedNumberScheduled),
				int64(ds.Status.NumberAvailable),
				labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
				since(ds.CreationTimestamp, now),
				names, images, metav1.FormatLabelSelector(ds.Spec.Selector),
			}, nil
		},
	)
}

func statefulSetPrinter() Printer {
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Ready", "string", "Number of the pod with ready state"),
			ageColumn(),
			wide(col("Containers", "string", containersDoc)),
			wide(col("Images", "string", imagesDoc)),
		},
		func(ss *appsv1.StatefulSet, now time.Time) ([]interface{}, error) {
			names, images := containerCells(ss.Spec.Template.Spec.Containers)
			return []interface{}{
				ss.Name,
				fmt.Sprintf("%d/%d", int64(ss.Status.ReadyReplicas), int64(replicas(ss.Spec.Replicas))),
				since(ss.CreationTimestamp, now),
				names, images,
			}, nil
		},
	)
}

func controllerRevisionPrinter() Printer {
	return typed(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			col("Controller", "string", "Controller of the object"),
			col("Revision", "string", appsv1beta1.ControllerRevision{}.SwaggerDoc()["revision"]),
			ageColumn(),
		},
		controllerRevisionCells,
	)
}

func controllerRevisionCells(cr *appsv1.ControllerRevision, now time.Time) ([]interface{}, error) {
	controller := "<none>"
	if ref := metav1.GetControllerOf(cr); ref != nil {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return nil, fmt.Errorf("printers: controller of %s: %w", cr.Name, err)
		}
		gk := gv.WithKind(ref.Kind).GroupKind()
		controller = ref.Name
		if !gk.Empty() {
			// "statefulset.apps/web"
			controller = strings.ToLower(gk.String()) + "/" + ref.Name
		}
	}
	return []interface{}{cr.Name, controller, cr.Revision, since(cr.CreationTimestamp, now)}, nil
}

// replicas reads a replicas field that defaulting sets to 1 when omitted.
func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// containerCells lays out container names and images on one line each.
func containerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}
