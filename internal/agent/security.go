package agent

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// reasonRunAsIgnored is the Warning event of a pod that asks for a user
// the agent cannot switch to (the agent does not run as root).
const reasonRunAsIgnored = "RunAsUserIgnored"

// runAs is the user a container asks for through the pod's and its own
// securityContext (the container's wins), as the kubelet merges them.
type runAs struct {
	uid, gid *int64
	groups   []int64
	nonRoot  bool
}

func containerRunAs(pod *corev1.Pod, c *corev1.Container) runAs {
	var r runAs
	if psc := pod.Spec.SecurityContext; psc != nil {
		r.uid, r.gid = psc.RunAsUser, psc.RunAsGroup
		r.groups = append(r.groups, psc.SupplementalGroups...)
		// The runtime adds fsGroup to the supplementary groups.
		if psc.FSGroup != nil {
			r.groups = append(r.groups, *psc.FSGroup)
		}
		r.nonRoot = psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			r.uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			r.gid = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			r.nonRoot = *sc.RunAsNonRoot
		}
	}
	return r
}

// credential is what c runs as: nil for the agent's own user. When the
// agent is not root it cannot change user, so a pod that asks for
// another one runs as the agent's user anyway and ignored says why (for
// a Warning event).
func (a *Agent) credential(pod *corev1.Pod, c *corev1.Container) (cred *syscall.Credential, ignored string) {
	return credentialFor(containerRunAs(pod, c), c.Name, os.Getuid(), os.Getgid(), primaryGroup)
}

// credentialFor is credential for an agent running as selfUID:selfGID;
// group finds a user's primary group.
func credentialFor(r runAs, name string, selfUID, selfGID int, group func(int64) int64) (cred *syscall.Credential, ignored string) {
	if r.uid == nil && r.gid == nil && len(r.groups) == 0 {
		return nil, ""
	}
	uid := int64(selfUID)
	if r.uid != nil {
		uid = *r.uid
	}
	gid := int64(selfGID)
	if r.gid != nil {
		gid = *r.gid
	} else if r.uid != nil {
		gid = group(uid)
	}
	if selfUID != 0 {
		if uid != int64(selfUID) || gid != int64(selfGID) || len(r.groups) > 0 {
			return nil, fmt.Sprintf("container %s asks for user %d, group %d and supplemental groups %v, but the agent does not run as root: it runs as the agent's user %d", name, uid, gid, r.groups, selfUID)
		}
		return nil, ""
	}
	cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	for _, g := range r.groups {
		cred.Groups = append(cred.Groups, uint32(g))
	}
	return cred, ""
}

// primaryGroup is uid's group in the host's passwd (the host is the
// containers' image), or 0 for an unknown user as container runtimes
// do.
func primaryGroup(uid int64) int64 {
	u, err := user.LookupId(strconv.FormatInt(uid, 10))
	if err != nil {
		return 0
	}
	g, err := strconv.ParseInt(u.Gid, 10, 64)
	if err != nil {
		return 0
	}
	return g
}

// checkNonRoot refuses a container with runAsNonRoot that would run as
// root, as the kubelet does (a CreateContainerConfigError).
func (a *Agent) checkNonRoot(pod *corev1.Pod, c *corev1.Container) error {
	r := containerRunAs(pod, c)
	if !r.nonRoot {
		return nil
	}
	uid := int64(os.Getuid())
	if r.uid != nil && uid == 0 {
		uid = *r.uid
	}
	if uid == 0 {
		return &configError{"container has runAsNonRoot and image will run as root (pod: \"" + pod.Name + "\", container: " + c.Name + ")"}
	}
	return nil
}
