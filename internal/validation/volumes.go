package validation

import (
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// validateVolumes returns the valid volumes by name (for mounts to refer to)
// and the errors of the invalid ones.
func validateVolumes(volumes []corev1.Volume, fld *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	vols := map[string]corev1.VolumeSource{}
	for i, v := range volumes {
		p := fld.Index(i)
		namePath := p.Child("name")
		el := validateVolumeSource(&v.VolumeSource, p)
		if v.Name == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, validateDNS1123Label(v.Name, namePath)...)
		}
		if names.Has(v.Name) {
			el = append(el, field.Duplicate(namePath, v.Name))
		}
		if len(el) == 0 {
			names.Insert(v.Name)
			vols[v.Name] = v.VolumeSource
		} else {
			errs = append(errs, el...)
		}
	}
	return vols, errs
}

// validateVolumeSource requires exactly one source. The common sources are
// checked field by field; the legacy in-tree cloud sources only count.
func validateVolumeSource(s *corev1.VolumeSource, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(set bool, name string, check func(*field.Path) field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fld.Child(name), "may not specify more than 1 volume type"))
			return
		}
		n++
		if check != nil {
			errs = append(errs, check(fld.Child(name))...)
		}
	}
	one(s.EmptyDir != nil, "emptyDir", func(p *field.Path) field.ErrorList {
		if s.EmptyDir.SizeLimit != nil && s.EmptyDir.SizeLimit.Cmp(resource.Quantity{}) < 0 {
			return field.ErrorList{field.Forbidden(p.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity")}
		}
		return nil
	})
	one(s.HostPath != nil, "hostPath", func(p *field.Path) field.ErrorList { return validateHostPath(s.HostPath, p) })
	one(s.GitRepo != nil, "gitRepo", func(p *field.Path) field.ErrorList {
		var e field.ErrorList
		if s.GitRepo.Repository == "" {
			e = append(e, field.Required(p.Child("repository"), ""))
		}
		return append(e, validateLocalDescendingPath(s.GitRepo.Directory, p.Child("directory"))...)
	})
	one(s.GCEPersistentDisk != nil, "gcePersistentDisk", nil)
	one(s.AWSElasticBlockStore != nil, "awsElasticBlockStore", nil)
	one(s.Secret != nil, "secret", func(p *field.Path) field.ErrorList {
		var e field.ErrorList
		if s.Secret.SecretName == "" {
			e = append(e, field.Required(p.Child("secretName"), ""))
		}
		e = append(e, validateMode(s.Secret.DefaultMode, p.Child("defaultMode"))...)
		for i := range s.Secret.Items {
			e = append(e, validateKeyToPath(&s.Secret.Items[i], p.Child("items").Index(i))...)
		}
		return e
	})
	one(s.NFS != nil, "nfs", func(p *field.Path) field.ErrorList {
		var e field.ErrorList
		if s.NFS.Server == "" {
			e = append(e, field.Required(p.Child("server"), ""))
		}
		if s.NFS.Path == "" {
			e = append(e, field.Required(p.Child("path"), ""))
		}
		if !path.IsAbs(s.NFS.Path) {
			e = append(e, field.Invalid(p.Child("path"), s.NFS.Path, "must be an absolute path"))
		}
		return e
	})
	one(s.ISCSI != nil, "iscsi", nil)
	one(s.Glusterfs != nil, "glusterfs", nil)
	one(s.Flocker != nil, "flocker", nil)
	one(s.PersistentVolumeClaim != nil, "persistentVolumeClaim", func(p *field.Path) field.ErrorList {
		if s.PersistentVolumeClaim.ClaimName == "" {
			return field.ErrorList{field.Required(p.Child("claimName"), "")}
		}
		return nil
	})
	one(s.RBD != nil, "rbd", nil)
	one(s.Cinder != nil, "cinder", nil)
	one(s.CephFS != nil, "cephFS", nil)
	one(s.Quobyte != nil, "quobyte", nil)
	// Upstream's typo in the "more than one" path is kept on purpose.
	one(s.DownwardAPI != nil, "downwarAPI", func(*field.Path) field.ErrorList {
		p := fld.Child("downwardAPI")
		e := validateMode(s.DownwardAPI.DefaultMode, p.Child("defaultMode"))
		for i := range s.DownwardAPI.Items {
			e = append(e, validateDownwardAPIFile(&s.DownwardAPI.Items[i], p)...)
		}
		return e
	})
	one(s.FC != nil, "fc", nil)
	one(s.FlexVolume != nil, "flexVolume", nil)
	one(s.ConfigMap != nil, "configMap", func(p *field.Path) field.ErrorList {
		var e field.ErrorList
		if s.ConfigMap.Name == "" {
			e = append(e, field.Required(p.Child("name"), ""))
		}
		e = append(e, validateMode(s.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		for i := range s.ConfigMap.Items {
			e = append(e, validateKeyToPath(&s.ConfigMap.Items[i], p.Child("items").Index(i))...)
		}
		return e
	})
	one(s.AzureFile != nil, "azureFile", nil)
	one(s.VsphereVolume != nil, "vsphereVolume", nil)
	one(s.PhotonPersistentDisk != nil, "photonPersistentDisk", nil)
	one(s.PortworxVolume != nil, "portworxVolume", nil)
	one(s.AzureDisk != nil, "azureDisk", nil)
	one(s.StorageOS != nil, "storageos", nil)
	one(s.Projected != nil, "projected", func(p *field.Path) field.ErrorList { return validateProjected(s.Projected, p) })
	one(s.ScaleIO != nil, "scaleIO", nil)
	one(s.CSI != nil, "csi", func(p *field.Path) field.ErrorList { return validateCSIDriverName(s.CSI.Driver, p.Child("driver")) })
	one(s.Ephemeral != nil, "ephemeral", func(p *field.Path) field.ErrorList {
		if s.Ephemeral.VolumeClaimTemplate == nil {
			return field.ErrorList{field.Required(p.Child("volumeClaimTemplate"), "")}
		}
		t := s.Ephemeral.VolumeClaimTemplate
		tp := p.Child("volumeClaimTemplate")
		e := apimachineryAnnotations(t.Annotations, tp.Child("metadata", "annotations"))
		e = append(e, validateLabels(t.Labels, tp.Child("metadata", "labels"))...)
		return append(e, validatePVCSpec(&t.Spec, tp.Child("spec"))...)
	})
	one(s.Image != nil, "image", func(p *field.Path) field.ErrorList {
		var e field.ErrorList
		if s.Image.Reference == "" {
			e = append(e, field.Required(p.Child("reference"), ""))
		}
		if pp := s.Image.PullPolicy; pp != "" {
			e = append(e, validatePullPolicy(pp, p.Child("pullPolicy"))...)
		}
		return e
	})
	if n == 0 {
		errs = append(errs, field.Required(fld, "must specify a volume type"))
	}
	return errs
}

func validateHostPath(hp *corev1.HostPathVolumeSource, fld *field.Path) field.ErrorList {
	if hp.Path == "" {
		return field.ErrorList{field.Required(fld.Child("path"), "")}
	}
	errs := validatePathNoBacksteps(hp.Path, fld.Child("path"))
	if hp.Type != nil {
		valid := sets.New(corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
			corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev)
		if !valid.Has(*hp.Type) {
			errs = append(errs, field.NotSupported(fld.Child("type"), hp.Type, sets.List(valid)))
		}
	}
	return errs
}

func validateMode(mode *int32, fld *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0o777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fld, *mode, fileModeErrorMsg)}
	}
	return nil
}

func validateKeyToPath(kp *corev1.KeyToPath, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kp.Key == "" {
		errs = append(errs, field.Required(fld.Child("key"), ""))
	}
	if kp.Path == "" {
		errs = append(errs, field.Required(fld.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(kp.Path, fld.Child("path"))...)
	return append(errs, validateMode(kp.Mode, fld.Child("mode"))...)
}

func validateDownwardAPIFile(f *corev1.DownwardAPIVolumeFile, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.Path == "" {
		errs = append(errs, field.Required(fld.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(f.Path, fld.Child("path"))...)
	switch {
	case f.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(f.FieldRef, validVolumeFieldPaths, fld.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fld, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case f.ResourceFieldRef != nil:
		errs = append(errs, validateResourceFieldSelector(f.ResourceFieldRef, fld.Child("resourceFieldRef"), true)...)
	default:
		errs = append(errs, field.Required(fld, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, validateMode(f.Mode, fld.Child("mode"))...)
}

func validateProjected(pv *corev1.ProjectedVolumeSource, fld *field.Path) field.ErrorList {
	errs := validateMode(pv.DefaultMode, fld.Child("defaultMode"))
	paths := sets.New[string]()
	addPath := func(p, badValue string) {
		if p == "" {
			return
		}
		if paths.Has(p) {
			errs = append(errs, field.Invalid(fld, badValue, "conflicting duplicate paths"))
		}
		paths.Insert(p)
	}
	for i, src := range pv.Sources {
		n := 0
		sp := fld.Child("sources").Index(i)
		if s := src.Secret; s != nil {
			n++
			pp := sp.Child("secret")
			if s.Name == "" {
				errs = append(errs, field.Required(pp.Child("name"), ""))
			}
			for j := range s.Items {
				errs = append(errs, validateKeyToPath(&s.Items[j], pp.Child("items").Index(j))...)
				addPath(s.Items[j].Path, s.Name)
			}
		}
		if s := src.ConfigMap; s != nil {
			n++
			pp := sp.Child("configMap")
			if s.Name == "" {
				errs = append(errs, field.Required(pp.Child("name"), ""))
			}
			for j := range s.Items {
				errs = append(errs, validateKeyToPath(&s.Items[j], pp.Child("items").Index(j))...)
				addPath(s.Items[j].Path, s.Name)
			}
		}
		if s := src.DownwardAPI; s != nil {
			n++
			for j := range s.Items {
				errs = append(errs, validateDownwardAPIFile(&s.Items[j], sp.Child("downwardAPI"))...)
				addPath(s.Items[j].Path, s.Items[j].Path)
			}
		}
		if s := src.ServiceAccountToken; s != nil {
			n++
			pp := sp.Child("serviceAccountToken")
			exp := deref(s.ExpirationSeconds)
			if exp < 10*60 {
				errs = append(errs, field.Invalid(pp.Child("expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
			}
			if exp > 1<<32 {
				errs = append(errs, field.Invalid(pp.Child("expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
			}
			if s.Path == "" {
				errs = append(errs, field.Required(fld.Child("path"), ""))
			} else {
				errs = append(errs, validateLocalNonReservedPath(s.Path, fld.Child("path"))...)
			}
		}
		if src.ClusterTrustBundle != nil {
			n++
		}
		if src.PodCertificate != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

func validateCSIDriverName(name string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fld, ""))
	}
	if len(name) > 63 {
		errs = append(errs, field.TooLong(fld, "", 63))
	}
	for _, msg := range validateDNS1123Subdomain(strings.ToLower(name), fld) {
		msg.BadValue = name
		errs = append(errs, msg)
	}
	return errs
}

func validateLocalDescendingPath(p string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(p) {
		errs = append(errs, field.Invalid(fld, p, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(p, fld)...)
}

func validatePathNoBacksteps(p string, fld *field.Path) field.ErrorList {
	for _, item := range strings.Split(filepath.ToSlash(p), "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(fld, p, "must not contain '..'")}
		}
	}
	return nil
}

func validateLocalNonReservedPath(p string, fld *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(p, fld)
	if strings.HasPrefix(p, "..") && !strings.HasPrefix(p, "../") {
		errs = append(errs, field.Invalid(fld, p, "must not start with '..'"))
	}
	return errs
}

func validateVolumeMounts(mounts []corev1.VolumeMount, devices map[string]string, vols map[string]corev1.VolumeSource, c *corev1.Container, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	points := sets.New[string]()
	for i, m := range mounts {
		p := fld.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		v, known := vols[m.Name]
		if !known {
			errs = append(errs, field.NotFound(p.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		}
		if points.Has(m.MountPath) {
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be unique"))
		}
		points.Insert(m.MountPath)
		if _, ok := devices[m.Name]; ok {
			errs = append(errs, field.Invalid(p.Child("name"), m.Name, "must not already exist in volumeDevices"))
		}
		for _, dp := range devices {
			if dp == m.MountPath {
				errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must not already exist as a path in volumeDevices"))
				break
			}
		}
		if known && v.Image != nil {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(p.Child("subPath"), m.SubPath, "not allowed in image volume sources"))
			}
			if m.SubPathExpr != "" {
				errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.SubPathExpr, "not allowed in image volume sources"))
			}
		}
		// Upstream reports these on the list path, not the item path.
		if m.SubPath != "" {
			errs = append(errs, validateLocalDescendingPath(m.SubPath, fld.Child("subPath"))...)
		}
		if m.SubPathExpr != "" {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			errs = append(errs, validateLocalDescendingPath(m.SubPathExpr, fld.Child("subPathExpr"))...)
		}
		if mp := m.MountPropagation; mp != nil {
			valid := sets.New(corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone)
			if !valid.Has(*mp) {
				errs = append(errs, field.NotSupported(fld.Child("mountPropagation"), *mp, sets.List(valid)))
			}
			privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
			if *mp == corev1.MountPropagationBidirectional && !privileged {
				errs = append(errs, field.Forbidden(fld.Child("mountPropagation"), "Bidirectional mount propagation is available only to privileged containers"))
			}
		}
		if rro := m.RecursiveReadOnly; rro != nil {
			rp := fld.Child("recursiveReadOnly")
			switch *rro {
			case corev1.RecursiveReadOnlyDisabled:
			case corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible:
				if !m.ReadOnly {
					errs = append(errs, field.Forbidden(rp, "may only be specified when readOnly is true"))
				}
				if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
					errs = append(errs, field.Forbidden(rp, "may only be specified when mountPropagation is None or not specified"))
				}
			default:
				errs = append(errs, field.NotSupported(rp, *rro, []corev1.RecursiveReadOnlyMode{corev1.RecursiveReadOnlyDisabled, corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible}))
			}
		}
	}
	return errs
}

func validateVolumeDevices(devices []corev1.VolumeDevice, mounts map[string]string, vols map[string]corev1.VolumeSource, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths, names := sets.New[string](), sets.New[string]()
	for i, d := range devices {
		p := fld.Index(i)
		src, matched := vols[d.Name]
		isPVC := matched && (src.PersistentVolumeClaim != nil || src.Ephemeral != nil)
		if d.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		if names.Has(d.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "must be unique"))
		}
		if matched && !isPVC {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"))
		}
		if !matched {
			errs = append(errs, field.NotFound(p.Child("name"), d.Name))
		}
		if d.DevicePath == "" {
			errs = append(errs, field.Required(p.Child("devicePath"), ""))
		}
		if paths.Has(d.DevicePath) {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "must be unique"))
		}
		if d.DevicePath != "" && len(validatePathNoBacksteps(d.DevicePath, p)) > 0 {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "can not contain backsteps ('..')"))
		} else {
			paths.Insert(d.DevicePath)
		}
		if _, ok := mounts[d.Name]; ok {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "must not already exist in volumeMounts"))
		}
		for _, mp := range mounts {
			if mp == d.DevicePath {
				errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "must not already exist as a path in volumeMounts"))
				break
			}
		}
		if d.Name != "" {
			names.Insert(d.Name)
		}
	}
	return errs
}
