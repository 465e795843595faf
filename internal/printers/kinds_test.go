package printers

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func om(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, CreationTimestamp: created}
}

func TestSimpleCoreKinds(t *testing.T) {
	deleted := ago(time.Second)
	checkCells(t, schema.GroupResource{Resource: "namespaces"},
		&corev1.Namespace{ObjectMeta: om("kube-system"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		[]interface{}{"kube-system", "Active", "5m"})
	ns := &corev1.Namespace{ObjectMeta: om("gone"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	ns.DeletionTimestamp = &deleted
	checkCells(t, schema.GroupResource{Resource: "namespaces"}, ns, []interface{}{"gone", "Terminating", "5m"})

	checkCells(t, schema.GroupResource{Resource: "configmaps"},
		&corev1.ConfigMap{ObjectMeta: om("cfg"), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": {0}}},
		[]interface{}{"cfg", int64(3), "5m"})

	checkCells(t, schema.GroupResource{Resource: "secrets"},
		&corev1.Secret{ObjectMeta: om("tls"), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
		[]interface{}{"tls", "kubernetes.io/tls", int64(2), "5m"})
	checkCells(t, schema.GroupResource{Resource: "secrets"},
		&corev1.Secret{ObjectMeta: om("s"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": nil}, StringData: map[string]string{"a": "x", "b": "y"}},
		[]interface{}{"s", "Opaque", int64(2), "5m"})

	checkCells(t, schema.GroupResource{Resource: "serviceaccounts"},
		&corev1.ServiceAccount{ObjectMeta: om("default"), Secrets: []corev1.ObjectReference{{Name: "tok"}}},
		[]interface{}{"default", int64(1), "5m"})

	gr := schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
	checkCells(t, gr, &coordinationv1.Lease{ObjectMeta: om("kube-controller-manager"), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptrTo("cp-1_3f2a")}},
		[]interface{}{"kube-controller-manager", "cp-1_3f2a", "5m"})
	checkCells(t, gr, &coordinationv1.Lease{ObjectMeta: om("free")}, []interface{}{"free", "", "5m"})
}

func TestPersistentVolumeCells(t *testing.T) {
	gr := schema.GroupResource{Resource: "persistentvolumes"}
	fs := corev1.PersistentVolumeFilesystem
	pv := &corev1.PersistentVolume{
		ObjectMeta: om("pv-1"),
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "data-web-0"},
			StorageClassName:              "standard",
			VolumeMode:                    &fs,
			VolumeAttributesClassName:     ptrTo("gold"),
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound},
	}
	checkCells(t, gr, pv, []interface{}{"pv-1", "10Gi", "RWO,ROX,RWOP", "Retain", "Bound", "default/data-web-0", "standard", "gold", "", "5m", "Filesystem"})

	released := &corev1.PersistentVolume{
		ObjectMeta: om("pv-2"),
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1G")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              "ignored",
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeFailed, Reason: "VolumeFailedDelete"},
	}
	released.Annotations = map[string]string{"volume.beta.kubernetes.io/storage-class": "beta-class"}
	deleted := ago(time.Second)
	released.DeletionTimestamp = &deleted
	checkCells(t, gr, released, []interface{}{"pv-2", "1G", "RWX", "Delete", "Terminating", "", "beta-class", "<unset>", "VolumeFailedDelete", "5m", "<unset>"})
}

func TestPersistentVolumeClaimCells(t *testing.T) {
	gr := schema.GroupResource{Resource: "persistentvolumeclaims"}
	block := corev1.PersistentVolumeBlock
	bound := &corev1.PersistentVolumeClaim{
		ObjectMeta: om("data-web-0"),
		Spec: corev1.PersistentVolumeClaimSpec{
			VolumeName:       "pvc-1234",
			StorageClassName: ptrTo("standard"),
			VolumeMode:       &block,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
		Status: corev1.PersistentVolumeClaimStatus{
			Phase:       corev1.ClaimBound,
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")},
		},
	}
	checkCells(t, gr, bound, []interface{}{"data-web-0", "Bound", "pvc-1234", "2Gi", "RWO", "standard", "<unset>", "5m", "Block"})

	pending := &corev1.PersistentVolumeClaim{
		ObjectMeta: om("claim"),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:               []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			VolumeAttributesClassName: ptrTo("silver"),
			Resources:                 corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	checkCells(t, gr, pending, []interface{}{"claim", "Pending", "", "", "", "", "silver", "5m", "<unset>"})
}

func TestStorageClassCells(t *testing.T) {
	gr := schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}
	def := &storagev1.StorageClass{ObjectMeta: om("standard"), Provisioner: "rancher.io/local-path"}
	def.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	checkCells(t, gr, def, []interface{}{"standard (default)", "rancher.io/local-path", "Delete", "Immediate", false, "5m"})

	retain := corev1.PersistentVolumeReclaimRetain
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	fast := &storagev1.StorageClass{ObjectMeta: om("fast"), Provisioner: "ebs.csi.aws.com", ReclaimPolicy: &retain, VolumeBindingMode: &wait, AllowVolumeExpansion: ptrTo(true)}
	fast.Annotations = map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}
	checkCells(t, gr, fast, []interface{}{"fast (default)", "ebs.csi.aws.com", "Retain", "WaitForFirstConsumer", true, "5m"})

	notDefault := &storagev1.StorageClass{ObjectMeta: om("slow"), Provisioner: "p"}
	notDefault.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "false"}
	checkCells(t, gr, notDefault, []interface{}{"slow", "p", "Delete", "Immediate", false, "5m"})
}

func podTemplate(containers ...corev1.Container) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}
}

func TestWorkloadCells(t *testing.T) {
	tmpl := podTemplate(corev1.Container{Name: "web", Image: "nginx:1.27"}, corev1.Container{Name: "log", Image: "busybox"})
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}

	dep := &appsv1.Deployment{
		ObjectMeta: om("web"),
		Spec:       appsv1.DeploymentSpec{Replicas: ptrTo[int32](3), Selector: sel, Template: tmpl},
		Status:     appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2},
	}
	checkCells(t, schema.GroupResource{Group: "apps", Resource: "deployments"}, dep,
		[]interface{}{"web", "2/3", int64(3), int64(2), "5m", "web,log", "nginx:1.27,busybox", "app=web"})
	// Undefaulted replicas print as the default of 1; an empty selector
	// selects everything and prints empty.
	dep2 := &appsv1.Deployment{ObjectMeta: om("d"), Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{}}}
	checkCells(t, schema.GroupResource{Group: "apps", Resource: "deployments"}, dep2,
		[]interface{}{"d", "0/1", int64(0), int64(0), "5m", "", "", ""})
	bad := &appsv1.Deployment{ObjectMeta: om("bad"), Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}},
	}}}
	if cells := mustCells(t, schema.GroupResource{Group: "apps", Resource: "deployments"}, bad); cells[7] != "<invalid>" {
		t.Errorf("invalid selector cell = %v", cells[7])
	}

	rs := &appsv1.ReplicaSet{
		ObjectMeta: om("web-5d4f"),
		Spec: appsv1.ReplicaSetSpec{Replicas: ptrTo[int32](3), Template: tmpl, Selector: &metav1.LabelSelector{
			MatchLabels:      map[string]string{"app": "web", "pod-template-hash": "5d4f"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"fe", "be"}}},
		}},
		Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1},
	}
	checkCells(t, schema.GroupResource{Group: "apps", Resource: "replicasets"}, rs,
		[]interface{}{"web-5d4f", int64(3), int64(3), int64(1), "5m", "web,log", "nginx:1.27,busybox", "app=web,pod-template-hash=5d4f,tier in (be,fe)"})
	checkCells(t, schema.GroupResource{Group: "apps", Resource: "replicasets"}, &appsv1.ReplicaSet{ObjectMeta: om("r"), Spec: appsv1.ReplicaSetSpec{Replicas: ptrTo[int32](0)}},
		[]interface{}{"r", int64(0), int64(0), int64(0), "5m", "", "", "<none>"})

	dsTmpl := podTemplate(corev1.Container{Name: "agent", Image: "agent:2"})
	dsTmpl.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: om("agent"),
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"name": "agent"}}, Template: dsTmpl},
		Status:     appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 1, NumberAvailable: 2},
	}
	checkCells(t, schema.GroupResource{Group: "apps", Resource: "daemonsets"}, ds,
		[]interface{}{"agent", int64(3), int64(3), int64(2), int64(1), int64(2), "kubernetes.io/os=linux", "5m", "agent", "agent:2", "name=agent"})
	checkCells(t, schema.GroupResource{Group: "apps", Resource: "daemonsets"}, &appsv1.DaemonSet{ObjectMeta: om("e")},
		[]interface{}{"e", int64(0), int64(0), int64(0), int64(0), int64(0), "<none>", "5m", "", "", "<none>"})

	ss := &appsv1.StatefulSet{
		ObjectMeta: om("db"),
		Spec:       appsv1.StatefulSetSpec{Replicas: ptrTo[int32](3), Template: podTemplate(corev1.Container{Name: "pg", Image: "postgres:16"})},
		Status:     appsv1.StatefulSetStatus{ReadyReplicas: 3},
	}
	checkCells(t, schema.GroupResource{Group: "apps", Resource: "statefulsets"}, ss, []interface{}{"db", "3/3", "5m", "pg", "postgres:16"})
}

func TestControllerRevisionCells(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "controllerrevisions"}
	cr := &appsv1.ControllerRevision{ObjectMeta: om("db-7b9c"), Revision: 2}
	cr.OwnerReferences = []metav1.OwnerReference{
		{APIVersion: "v1", Kind: "ConfigMap", Name: "not-controller"},
		{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: ptrTo(true)},
	}
	checkCells(t, gr, cr, []interface{}{"db-7b9c", "statefulset.apps/db", int64(2), "5m"})

	core := &appsv1.ControllerRevision{ObjectMeta: om("x"), Revision: 1}
	core.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", Controller: ptrTo(true)}}
	checkCells(t, gr, core, []interface{}{"x", "pod/p", int64(1), "5m"})

	checkCells(t, gr, &appsv1.ControllerRevision{ObjectMeta: om("orphan"), Revision: 7}, []interface{}{"orphan", "<none>", int64(7), "5m"})

	broken := &appsv1.ControllerRevision{ObjectMeta: om("b")}
	broken.OwnerReferences = []metav1.OwnerReference{{APIVersion: "a/b/c", Kind: "X", Name: "y", Controller: ptrTo(true)}}
	p, _ := For(gr)
	if _, err := p.Cells(broken, now); err == nil {
		t.Error("unparsable controller apiVersion: want error")
	}
}
