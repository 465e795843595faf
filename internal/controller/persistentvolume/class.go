package persistentvolume

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const (
	// Provisioner is the provisioner name of skiff's local-path volumes.
	Provisioner = "skiff.dev/local-path"
	// DefaultClassName is the StorageClass created at start.
	DefaultClassName = "local-path"

	// Annotations as upstream's storage helpers and PV controller spell
	// them.
	annDefaultClass     = "storageclass.kubernetes.io/is-default-class"
	annBetaDefaultClass = "storageclass.beta.kubernetes.io/is-default-class"
	annBindCompleted    = "pv.kubernetes.io/bind-completed"
	annBoundByCtrl      = "pv.kubernetes.io/bound-by-controller"
	annProvisionedBy    = "pv.kubernetes.io/provisioned-by"
	annStorageProv      = "volume.kubernetes.io/storage-provisioner"
	annBetaStorageProv  = "volume.beta.kubernetes.io/storage-provisioner"
	annSelectedNode     = "volume.kubernetes.io/selected-node"
)

// defaultClass is the class created at start. Immediate binding: the
// controller makes the directory on the disk of the control plane's own
// node, so there is no placement to defer until a pod is scheduled, and
// claims are bound (and pods can start) as soon as they exist.
func defaultClass(isDefault bool) *storagev1.StorageClass {
	reclaim := corev1.PersistentVolumeReclaimDelete
	mode := storagev1.VolumeBindingImmediate
	class := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: DefaultClassName},
		Provisioner:       Provisioner,
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &mode,
	}
	if isDefault {
		class.Annotations = map[string]string{annDefaultClass: "true"}
	}
	return class
}

// ensureDefaultClass creates the local-path class when no class of that
// name exists. An existing one is left as the user made it. It is marked
// default only when no other class is, so that a user's choice of
// default survives a restart.
func (c *Controller) ensureDefaultClass(ctx context.Context) error {
	classes := c.client.StorageV1().StorageClasses()
	if _, err := classes.Get(ctx, DefaultClassName, metav1.GetOptions{}); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get storage class %s: %w", DefaultClassName, err)
	}
	list, err := classes.List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list storage classes: %w", err)
	}
	isDefault := true
	for i := range list.Items {
		if isDefaultClass(&list.Items[i]) {
			isDefault = false
		}
	}
	if _, err := classes.Create(ctx, defaultClass(isDefault), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create storage class %s: %w", DefaultClassName, err)
	}
	c.log.Info("created storage class", "class", DefaultClassName, "default", isDefault)
	return nil
}

func isDefaultClass(class *storagev1.StorageClass) bool {
	return class.Annotations[annDefaultClass] == "true" || class.Annotations[annBetaDefaultClass] == "true"
}

// pickDefault returns the default class among classes, nil if none. With
// several, the newest wins (then the lowest name), as upstream's
// GetDefaultClass does since Kubernetes 1.26.
func pickDefault(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var defaults []*storagev1.StorageClass
	for _, class := range classes {
		if isDefaultClass(class) {
			defaults = append(defaults, class)
		}
	}
	if len(defaults) == 0 {
		return nil
	}
	sort.Slice(defaults, func(i, j int) bool {
		ti, tj := defaults[i].CreationTimestamp, defaults[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return tj.Before(&ti)
		}
		return defaults[i].Name < defaults[j].Name
	})
	return defaults[0]
}

// defaultClassName returns the name of the default class from the
// cache, "" if none.
func (c *Controller) defaultClassName() string {
	classes, err := c.classLister.List(labels.Everything())
	if err != nil {
		return ""
	}
	if class := pickDefault(classes); class != nil {
		return class.Name
	}
	return ""
}
