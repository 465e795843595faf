package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/internal/agent/runtime"
)

// hostsFile is the pod's /etc/hosts as the kubelet writes it.
func hostsFile(pod *corev1.Pod, podIP, domain string) string {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	if podIP != "" {
		if pod.Spec.Subdomain != "" && domain != "" {
			fmt.Fprintf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", podIP, hostname, pod.Spec.Subdomain, pod.Namespace, domain, hostname)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", podIP, hostname)
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.String()
}

// resolvConf is the pod's /etc/resolv.conf by its dnsPolicy; ok is false
// when the pod keeps the host's (dnsPolicy Default, or no cluster DNS).
func resolvConf(pod *corev1.Pod, dns []string, domain string) (string, bool) {
	var servers, search, options []string
	switch pod.Spec.DNSPolicy {
	case corev1.DNSDefault:
		return "", false
	case corev1.DNSNone:
	default: // ClusterFirst, ClusterFirstWithHostNet
		if len(dns) == 0 || (pod.Spec.HostNetwork && pod.Spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet) {
			return "", false
		}
		servers = append(servers, dns...)
		if domain != "" {
			search = append(search, pod.Namespace+".svc."+domain, "svc."+domain, domain)
		}
		options = append(options, "ndots:5")
	}
	if c := pod.Spec.DNSConfig; c != nil {
		servers = append(servers, c.Nameservers...)
		search = append(search, c.Searches...)
		for _, o := range c.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			// A pod option replaces the default of the same name.
			kept := options[:0]
			for _, have := range options {
				if name, _, _ := strings.Cut(have, ":"); name != o.Name {
					kept = append(kept, have)
				}
			}
			options = append(kept, opt)
		}
	}
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.String(), true
}

// etcMounts writes the pod's hosts and resolv.conf under its directory
// and returns them as mounts over the host's (Config.PrivateMounts).
func (w *podWorker) etcMounts(pod *corev1.Pod) ([]runtime.Mount, error) {
	if pod.Spec.HostNetwork {
		return nil, nil
	}
	dir := filepath.Join(w.a.podDir(w.st.Namespace, w.st.Name, w.uid), "etc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pod etc dir: %w", err)
	}
	files := map[string]string{"hosts": hostsFile(pod, w.st.IP, w.a.cfg.ClusterDomain)}
	if rc, ok := resolvConf(pod, w.a.cfg.ClusterDNS, w.a.cfg.ClusterDomain); ok {
		files["resolv.conf"] = rc
	}
	var out []runtime.Mount
	for _, name := range sortedKeys(files) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			return nil, fmt.Errorf("pod %s: %w", name, err)
		}
		out = append(out, runtime.Mount{Source: p, Target: "/etc/" + name})
	}
	return out, nil
}
