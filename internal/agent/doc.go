// Package agent is skiff's node agent (its kubelet): it registers a Node,
// renews the node's Lease, and runs the pods bound to the node as host
// process groups (see package runtime), each with its own loopback
// address (see package podip).
//
// # Pods
//
// One worker per pod (worker.go) does everything for it in one goroutine:
// init containers in order, containers, restarts by restartPolicy with
// the kubelet's CrashLoopBackOff timing (first restart at once, then 10s
// doubling to 5m, reset after 10 minutes of running), probes (probe.go),
// graceful termination (SIGTERM to the group, SIGKILL after the grace
// period, then DELETE with gracePeriodSeconds=0 and a UID precondition,
// as the kubelet does) and the status written through pods/status
// (status.go). Process exits and probe results only wake the worker.
//
// Lifecycle hooks (hooks.go) run as the kubelet runs them: postStart
// (exec, httpGet, sleep) right after the process starts, the container
// Waiting in ContainerCreating and its probes held until the hook
// returns; a failing postStart kills the run (FailedPostStartHook
// event), which restarts by restartPolicy. preStop runs when the pod is
// deleted, after the endpoint drain and before SIGTERM, within the grace
// period (SIGKILL no sooner than 2s after the hook); a failure is a
// FailedPreStopHook event and SIGTERM follows anyway. httpGet hooks go
// to the pod's address unless they name a host. Runs killed for a failed
// liveness, startup or postStart check get their preStop hook too;
// agent shutdown (StopPodsOnExit) does not run it.
//
// # Users
//
// runAsUser, runAsGroup, supplementalGroups and fsGroup (as a
// supplementary group) of the pod's and the container's securityContext
// (the container's wins) apply to the container's process and to its
// exec probes and hooks when the agent runs as root (security.go). A
// runAsUser without runAsGroup takes the user's group from the host's
// passwd, or group 0 for an unknown user, as container runtimes do;
// runAsNonRoot refuses a container that would run as uid 0
// (CreateContainerConfigError). An agent that is not root cannot change
// user: a container that asks for another user or group runs as the
// agent's user anyway, with a RunAsUserIgnored Warning event saying so.
//
// Commands are run from the host filesystem with Kubernetes' $(VAR)
// expansion (expand.go) and the full env/envFrom (env.go); a container
// without a command runs the program its image is aliased to
// (Config.ImageAliases). A container that cannot run gets a Warning event
// and a Waiting reason, never a crash of the agent.
//
// # Files
//
// Under Config.DataDir:
//
//	pods/<ns>_<name>_<uid>/state.json              what the agent knows (pids, ips, restarts)
//	pods/<ns>_<name>_<uid>/<container>/<n>.log     log of run n (CRI format, see runtime)
//	pods/<ns>_<name>_<uid>/<container>/<n>.pipe/   the run's stdout, stderr (and stdin, resize) pipes
//	pods/<ns>_<name>_<uid>/volumes/<volume>/       the pod's volumes (see below)
//	podip/<address>                                address allocations (see podip)
//
// A pod's directory is removed with the pod. A new agent reads the
// states, re-adopts the processes that still run (same pids, not
// restarted) and stops pods that were deleted meanwhile.
//
// # Volumes
//
// Containers are host processes in the host's mount namespace, so a
// volumeMount's mountPath means nothing to them. Instead each volume is
// a directory on the host (package volume makes them) and every
// container gets, for each volume it mounts,
//
//	SKIFF_VOLUME_<VOLUME>=<host directory>
//
// with the volume name upper-cased and '-' turned into '_' (volume
// "app-config" gives SKIFF_VOLUME_APP_CONFIG). The variable is visible to
// $(VAR) expansion in command, args and env, so a manifest can say
// args: ["--config=$(SKIFF_VOLUME_APP_CONFIG)/app.yaml"]. subPath and
// readOnly are not applied to it. With Config.PrivateMounts, when the
// agent runs as root, each container also runs in a mount namespace of
// its own where its volumeMounts are bind mounts at their mountPath
// (subPath and readOnly applied; missing mount points are created on the
// host, empty), so unchanged manifests find their files, and
// /etc/hosts and /etc/resolv.conf are the pod's own (written to
// pods/<pod>/etc/ as the kubelet writes them; resolv.conf follows
// dnsPolicy and dnsConfig with Config.ClusterDNS). The directory is:
//
//   - emptyDir (also medium Memory): pods/<pod>/volumes/<volume>, mode 0777;
//   - configMap, secret, downwardAPI, projected: pods/<pod>/volumes/<volume>,
//     one file per key or item (items' paths and modes, defaultMode;
//     secret files are 0400 when no defaultMode is set), rewritten
//     atomically through a "..data" symlink when the ConfigMap, Secret or
//     the pod's labels and annotations change; a projected
//     serviceAccountToken is skipped with a Warning event;
//   - hostPath: the host path itself, checked or created by its type;
//   - persistentVolumeClaim (and generic ephemeral): the path of the bound
//     PersistentVolume's local or hostPath source.
//
// A volume that cannot be made (missing ConfigMap, unbound claim) keeps
// the pod's containers waiting in ContainerCreating with a FailedMount
// event, retried every 2 seconds. Volume directories go with the pod's
// directory when it is deleted; hostPath and PersistentVolume data stay.
//
// # Service environment
//
// Every container gets the service variables of its namespace as the
// kubelet makes them (NAME_SERVICE_HOST, NAME_SERVICE_PORT,
// NAME_SERVICE_PORT_<PORT NAME>, NAME_PORT, NAME_PORT_<port>_<PROTO> and
// its _PROTO, _PORT, _ADDR) for services with a cluster IP, when
// spec.enableServiceLinks is not false; those of default/kubernetes are
// always added. Its own env and envFrom win; $(VAR) sees them. They come
// from a services informer over all namespaces (svcenv.go).
//
// # Pod addresses
//
// The node's pod CIDR is a /24 inside 127.0.0.0/8 (never 127.0.0.0/24):
// the Node's spec.podCIDR if set, else Config.PodCIDR, else one derived
// from the node name and data dir in 127.64.0.0/10. Every pod gets an
// address from it, exposed as status.podIP(s) and through the downward
// API; programs bind to it. Host network mode only, for now.
//
// # Logs
//
// [Agent.PodSubresources] serves GET pods/NAME/log (container, follow,
// previous, tailLines, sinceSeconds, sinceTime, timestamps, limitBytes)
// from the log files, and exec, attach and portforward (package stream);
// the API server delegates to it.
//
// # Attach
//
// attach.go connects a client to a container's running process as the
// kubelet with containerd does: the output written from then on (see
// runtime.Process.Subscribe), and with -i the client's input into the
// container's stdin when it has stdin: true (ignored otherwise; such a
// container reads /dev/null). The end of the client's input ends the
// session, except with stdinOnce (and no tty), where it closes the
// container's stdin for good and the output goes on to its end. A
// tty: true container runs on a terminal of the runtime's console shim;
// sessions carry its output and input and resize it. The stdin and tty
// pipes outlive the agent, like the output pipes.
//
// # Serving
//
// Inside `skiff server` the API server calls that handler in-process. A
// joined agent with Config.ServeAddress serves it over HTTPS instead, as
// the kubelet does on port 10250 (serve.go): only a client certificate
// of the cluster CA named pki.KubeletClientName (the API server) is let
// in; the agent's own certificate is self-signed under DataDir/pki and
// reused across restarts, and its SHA-256 fingerprint is published on the
// Node (annotation pki.ServingCertAnnotation) with the bound port in
// status.daemonEndpoints.kubeletEndpoint, to be dialled at the Node's
// InternalIP (Config.HostIP).
//
// The agent talks to the API only through client-go. It imports
// k8s.io/*, its own subpackages runtime, podip, stream and volume, and
// internal/pki for the serving credentials.
package agent
