package agent

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/internal/agent/podip"
	"github.com/skiff-dev/skiff/internal/pki"
)

// Versions the Node reports.
const (
	KubeletVersion = "v1.37.2-skiff"
	RuntimeVersion = "skiff-process://0.1"
)

const leaseNamespace = "kube-node-lease"

// register creates or updates the Node and writes its status, retrying
// until it works or ctx ends.
func (a *Agent) register(ctx context.Context) (*corev1.Node, error) {
	var node *corev1.Node
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		n, err := a.registerOnce(ctx)
		if err != nil {
			a.log.Warn("node registration failed; retrying", "node", a.cfg.NodeName, "err", err)
			return false, nil
		}
		node = n
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("register node %s: %w", a.cfg.NodeName, err)
	}
	a.log.Info("node registered", "node", node.Name, "podCIDR", node.Spec.PodCIDR)
	return node, nil
}

func (a *Agent) registerOnce(ctx context.Context) (*corev1.Node, error) {
	nodes := a.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		node = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName}}
		a.setNodeSpec(node)
		node, err = nodes.Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("create node: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("get node: %w", err)
	default:
		before := node.DeepCopy()
		a.setNodeSpec(node)
		if !apiequality.Semantic.DeepEqual(before.ObjectMeta, node.ObjectMeta) || !apiequality.Semantic.DeepEqual(before.Spec, node.Spec) {
			if node, err = nodes.Update(ctx, node, metav1.UpdateOptions{}); err != nil {
				return nil, fmt.Errorf("update node: %w", err)
			}
		}
	}
	node, err = a.writeNodeStatus(ctx, node)
	if err != nil {
		return nil, err
	}
	return node, nil
}

// setNodeSpec sets the labels, the serving certificate's pin and the pod
// CIDR the agent owns.
func (a *Agent) setNodeSpec(n *corev1.Node) {
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Labels[corev1.LabelHostname] = a.cfg.NodeName
	n.Labels[corev1.LabelOSStable] = goruntime.GOOS
	n.Labels[corev1.LabelArchStable] = goruntime.GOARCH
	for k, v := range a.cfg.Labels {
		n.Labels[k] = v
	}
	// The pin of the serving certificate, for the API server (serve.go);
	// a stale one goes when the agent no longer serves.
	if fp := a.server.publishedFingerprint(); fp != "" {
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[pki.ServingCertAnnotation] = fp
	} else {
		delete(n.Annotations, pki.ServingCertAnnotation)
	}
	if n.Spec.PodCIDR == "" {
		cidr := a.cfg.PodCIDR
		if cidr == "" {
			cidr = podip.DefaultPrefix(a.cfg.NodeName + "\x00" + a.cfg.DataDir).String()
		}
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidr, []string{cidr}
	}
}

// nodeStatus is the status the agent reports now; conditions keep their
// transition times from old.
func (a *Agent) nodeStatus(old *corev1.NodeStatus, now time.Time) corev1.NodeStatus {
	st := *old.DeepCopy()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(memTotal(), resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(a.cfg.MaxPods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(diskTotal(a.cfg.DataDir), resource.BinarySI),
	}
	st.Capacity = capacity
	st.Allocatable = capacity.DeepCopy()
	hostname, _ := os.Hostname()
	if hostname == "" {
		hostname = a.cfg.NodeName
	}
	st.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: a.cfg.HostIP},
		{Type: corev1.NodeHostName, Address: hostname},
	}
	// Where the API server reaches this agent (0: it does not serve).
	st.DaemonEndpoints = corev1.NodeDaemonEndpoints{
		KubeletEndpoint: corev1.DaemonEndpoint{Port: a.server.publishedPort()},
	}
	st.NodeInfo = corev1.NodeSystemInfo{
		MachineID:               readTrim("/etc/machine-id"),
		BootID:                  readTrim("/proc/sys/kernel/random/boot_id"),
		KernelVersion:           kernelVersion(),
		OSImage:                 osImage(),
		ContainerRuntimeVersion: RuntimeVersion,
		KubeletVersion:          KubeletVersion,
		OperatingSystem:         goruntime.GOOS,
		Architecture:            goruntime.GOARCH,
	}
	ready := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue,
		Reason: "KubeletReady", Message: "kubelet is posting ready status",
		LastHeartbeatTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now),
	}
	pressure := func(t corev1.NodeConditionType, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg,
			LastHeartbeatTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now)}
	}
	want := []corev1.NodeCondition{
		pressure(corev1.NodeMemoryPressure, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		pressure(corev1.NodeDiskPressure, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		pressure(corev1.NodePIDPressure, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		ready,
	}
	for i := range want {
		for _, o := range old.Conditions {
			if o.Type == want[i].Type && o.Status == want[i].Status {
				want[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	// Keep conditions other components own.
	for _, o := range old.Conditions {
		switch o.Type {
		case corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
		default:
			want = append(want, o)
		}
	}
	st.Conditions = want
	st.Phase = ""
	return st
}

func (a *Agent) writeNodeStatus(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	node = node.DeepCopy()
	node.Status = a.nodeStatus(&node.Status, time.Now())
	out, err := a.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update node status: %w", err)
	}
	return out, nil
}

// heartbeat renews the Lease every HeartbeatInterval and rewrites the
// Node status every StatusInterval, until ctx ends.
func (a *Agent) heartbeat(ctx context.Context, node *corev1.Node) {
	if err := a.ensureLeaseNamespace(ctx); err != nil {
		a.log.Warn("lease namespace", "err", err)
	}
	lastStatus := time.Now()
	tick := time.NewTicker(a.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		if err := a.renewLease(ctx, node); err != nil && ctx.Err() == nil {
			a.log.Warn("renew node lease", "node", a.cfg.NodeName, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(lastStatus) >= a.cfg.StatusInterval {
			cur, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
			if err == nil {
				cur, err = a.writeNodeStatus(ctx, cur)
			} else if apierrors.IsNotFound(err) {
				// Someone deleted the Node: register again.
				cur, err = a.registerOnce(ctx)
			}
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("node status", "node", a.cfg.NodeName, "err", err)
				}
				continue
			}
			node, lastStatus = cur, time.Now()
		}
	}
}

func (a *Agent) ensureLeaseNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: leaseNamespace}}
	_, err := a.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

func (a *Agent) renewLease(ctx context.Context, node *corev1.Node) error {
	leases := a.client.CoordinationV1().Leases(leaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name: a.cfg.NodeName, Namespace: leaseNamespace,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}},
			},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(a.cfg.NodeName),
				LeaseDurationSeconds: ptr.To(int32(a.cfg.LeaseDuration / time.Second)),
				RenewTime:            &now,
			},
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity = ptr.To(a.cfg.NodeName)
	l.Spec.LeaseDurationSeconds = ptr.To(int32(a.cfg.LeaseDuration / time.Second))
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// memTotal is MemTotal from /proc/meminfo in bytes.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fs[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func diskTotal(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Blocks) * st.Bsize
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

func kernelVersion() string {
	return readTrim("/proc/sys/kernel/osrelease")
}

// osImage is PRETTY_NAME from /etc/os-release.
func osImage() string {
	b, _ := os.ReadFile("/etc/os-release")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return goruntime.GOOS
}

// hostIPs is what a pod's status.hostIPs holds.
func (a *Agent) hostIP() netip.Addr {
	ip, err := netip.ParseAddr(a.cfg.HostIP)
	if err != nil {
		return netip.MustParseAddr("127.0.0.1")
	}
	return ip
}
