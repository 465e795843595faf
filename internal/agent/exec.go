package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/internal/agent/stream"
)

// runningPod finds a pod of this node that runs, and its worker, for
// exec and port-forward (as the kubelet: the pod must be Running).
func (a *Agent) runningPod(r *http.Request, ns, name string) (*corev1.Pod, *podWorker, error) {
	pod, err := a.podOnNode(r, ns, name)
	if err != nil {
		return nil, nil, err
	}
	if pod.Status.Phase != corev1.PodRunning {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("unable to upgrade connection: pod %s is not running (phase %s)", name, pod.Status.Phase))
	}
	w := a.worker(pod.UID)
	if w == nil {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("unable to upgrade connection: pod %s is not running on this agent", name))
	}
	return pod, w, nil
}

// podOnNode reads the pod a streaming request names and checks that it is
// this agent's.
func (a *Agent) podOnNode(r *http.Request, ns, name string) (*corev1.Pod, error) {
	pod, err := a.client.CoreV1().Pods(ns).Get(r.Context(), name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if pod.Spec.NodeName != a.cfg.NodeName {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s is not on node %s", name, a.cfg.NodeName))
	}
	return pod, nil
}

// serveExec runs a command in a container's context: its environment
// (downward API, services, volumes), its working directory, in a process
// group of its own that ends with the session.
func (a *Agent) serveExec(w http.ResponseWriter, r *http.Request, ns, name string) {
	pod, worker, err := a.runningPod(r, ns, name)
	if err != nil {
		WriteStatus(w, err)
		return
	}
	c, err := execContainer(pod, r.URL.Query().Get("container"))
	if err != nil {
		WriteStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	stream.ServeExec(w, r, stream.CmdExecutor(func(ctx context.Context, cmd []string) (*exec.Cmd, error) {
		_, _, env, err := worker.resolve(ctx, pod, c)
		if err != nil {
			return nil, err
		}
		pathEnv := defaultPath
		for _, kv := range env {
			if len(kv) > 5 && kv[:5] == "PATH=" {
				pathEnv = kv[5:]
			}
		}
		x := exec.Command(lookPath(cmd[0], pathEnv), cmd[1:]...)
		x.Env = env
		x.Dir = "/"
		if c.WorkingDir != "" {
			x.Dir = c.WorkingDir
		}
		x.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return x, nil
	}))
}

// servePortForward connects the client's streams to the pod's address.
func (a *Agent) servePortForward(w http.ResponseWriter, r *http.Request, ns, name string) {
	_, worker, err := a.runningPod(r, ns, name)
	if err != nil {
		WriteStatus(w, err)
		return
	}
	ip := worker.st.IP
	stream.ServePortForward(w, r, func(ctx context.Context, port int32) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(int(port))))
	})
}

// execContainer picks the container to exec in: the named one, the
// default-container annotation's, or the only one.
func execContainer(pod *corev1.Pod, name string) (*corev1.Container, error) {
	if name == "" {
		name = pod.Annotations["kubectl.kubernetes.io/default-container"]
	}
	if name == "" {
		if len(pod.Spec.Containers) != 1 {
			_, err := logContainer(pod, "")
			return nil, err
		}
		name = pod.Spec.Containers[0].Name
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i], nil
		}
	}
	return nil, fmt.Errorf("container %s is not valid for pod %s", name, pod.Name)
}
