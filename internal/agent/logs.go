package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-dev/skiff/internal/agent/runtime"
)

// followPoll is how often a followed log file is checked for more.
const followPoll = 100 * time.Millisecond

// PodSubresources serves the pod subresources the API server delegates
// to the node agent: log, exec, attach and portforward. Errors are
// metav1.Status JSON.
func (a *Agent) PodSubresources() http.Handler {
	return http.HandlerFunc(a.serveSubresource)
}

func (a *Agent) serveSubresource(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// api v1 namespaces NS pods NAME SUB
	if len(parts) != 7 || parts[0] != "api" || parts[1] != "v1" || parts[2] != "namespaces" || parts[4] != "pods" {
		WriteStatus(w, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, r.URL.Path))
		return
	}
	ns, name, sub := parts[3], parts[5], parts[6]
	switch sub {
	case "log":
		if r.Method != http.MethodGet {
			WriteStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/log"}, r.Method))
			return
		}
		a.serveLog(w, r, ns, name)
	case "exec":
		a.serveExec(w, r, ns, name)
	case "attach":
		a.serveAttach(w, r, ns, name)
	case "portforward":
		a.servePortForward(w, r, ns, name)
	default:
		st := apierrors.NewInternalError(fmt.Errorf("pods/%s is not implemented by the skiff agent yet", sub))
		st.ErrStatus.Code = http.StatusNotImplemented
		st.ErrStatus.Reason = metav1.StatusReasonNotAcceptable
		WriteStatus(w, st)
	}
}

// WriteStatus answers with err as a metav1.Status (an internal error if
// err carries none), as the API server does; the pod router of the
// control plane answers so too.
func WriteStatus(w http.ResponseWriter, err error) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		se = apierrors.NewInternalError(err)
	}
	st := se.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	json.NewEncoder(w).Encode(st)
}

// logOptions are the query parameters of pods/log.
type logOptions struct {
	container  string
	follow     bool
	previous   bool
	timestamps bool
	tailLines  int64 // -1: all
	limitBytes int64 // 0: no limit
	since      time.Time
}

func parseLogOptions(q map[string][]string, now time.Time) (logOptions, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	o := logOptions{container: get("container"), tailLines: -1}
	var err error
	boolean := func(k string) bool {
		v := get(k)
		if v == "" {
			return false
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil && err == nil {
			err = fmt.Errorf("%s: %w", k, perr)
		}
		return b
	}
	integer := func(k string) int64 {
		v := get(k)
		if v == "" {
			return -1
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil && err == nil {
			err = fmt.Errorf("%s: %w", k, perr)
		}
		return n
	}
	o.follow, o.previous, o.timestamps = boolean("follow"), boolean("previous"), boolean("timestamps")
	o.tailLines = integer("tailLines")
	if n := integer("limitBytes"); n > 0 {
		o.limitBytes = n
	} else if n == 0 {
		return o, errors.New("limitBytes: must be greater than 0")
	}
	if s := integer("sinceSeconds"); s > 0 {
		o.since = now.Add(-time.Duration(s) * time.Second)
	} else if s == 0 {
		return o, errors.New("sinceSeconds: must be greater than 0")
	}
	if v := get("sinceTime"); v != "" {
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			return o, fmt.Errorf("sinceTime: %w", perr)
		}
		o.since = t
	}
	return o, err
}

func (a *Agent) serveLog(w http.ResponseWriter, r *http.Request, ns, name string) {
	opts, err := parseLogOptions(r.URL.Query(), time.Now())
	if err != nil {
		WriteStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	pod, err := a.client.CoreV1().Pods(ns).Get(r.Context(), name, metav1.GetOptions{})
	if err != nil {
		WriteStatus(w, err)
		return
	}
	c, err := logContainer(pod, opts.container)
	if err != nil {
		WriteStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	if pod.Spec.NodeName != a.cfg.NodeName {
		WriteStatus(w, apierrors.NewBadRequest(fmt.Sprintf("pod %s is not on node %s", name, a.cfg.NodeName)))
		return
	}
	path, active, err := a.logFile(pod, c, opts.previous)
	if err != nil {
		WriteStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	out := &limitWriter{w: w, left: opts.limitBytes}
	if opts.limitBytes == 0 {
		out.left = -1
	}
	streamLog(r.Context(), out, path, opts, active)
}

// logContainer picks the container whose log is asked for.
func logContainer(pod *corev1.Pod, name string) (string, error) {
	if name == "" {
		if len(pod.Spec.Containers) == 1 {
			return pod.Spec.Containers[0].Name, nil
		}
		var names, inits []string
		for _, c := range pod.Spec.Containers {
			names = append(names, c.Name)
		}
		for _, c := range pod.Spec.InitContainers {
			inits = append(inits, c.Name)
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(names, " "))
		if len(inits) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: [%s]", strings.Join(inits, " "))
		}
		return "", errors.New(msg)
	}
	if findContainer(pod, name) == nil {
		return "", fmt.Errorf("container %s is not valid for pod %s", name, pod.Name)
	}
	return name, nil
}

// logFile finds the log of the current (or previous) run of container,
// and a function that says whether that run may still write to it.
func (a *Agent) logFile(pod *corev1.Pod, container string, previous bool) (string, func() bool, error) {
	dir := filepath.Join(a.podDir(pod.Namespace, pod.Name, pod.UID), container)
	attempts := logAttempts(dir)
	current := int32(-1)
	if w := a.worker(pod.UID); w != nil {
		w.mu.Lock()
		if cs := w.st.Containers[container]; cs != nil && cs.Run != nil {
			current = cs.Run.Attempt
		}
		w.mu.Unlock()
	}
	if current < 0 && len(attempts) > 0 {
		current = attempts[len(attempts)-1]
	}
	if previous {
		var prev int32 = -1
		for _, n := range attempts {
			if n < current {
				prev = n
			}
		}
		if prev < 0 {
			return "", nil, fmt.Errorf("previous terminated container %q in pod %q not found", container, pod.Name)
		}
		return filepath.Join(dir, fmt.Sprintf("%d.log", prev)), func() bool { return false }, nil
	}
	if current < 0 || !slices.Contains(attempts, current) {
		return "", nil, fmt.Errorf("container %q in pod %q is waiting to start: %s", container, pod.Name, waitingReason(pod, container))
	}
	active := func() bool {
		w := a.worker(pod.UID)
		if w == nil {
			return false
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		cs := w.st.Containers[container]
		if cs == nil || cs.Run == nil || cs.Run.Attempt != current || cs.proc == nil {
			return false
		}
		select {
		case <-cs.proc.LogsDone():
			return false
		default:
			return true
		}
	}
	return filepath.Join(dir, fmt.Sprintf("%d.log", current)), active, nil
}

func waitingReason(pod *corev1.Pod, container string) string {
	for _, s := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if s.Name == container && s.State.Waiting != nil {
			return s.State.Waiting.Reason
		}
	}
	return "ContainerCreating"
}

func logAttempts(dir string) []int32 {
	ents, _ := os.ReadDir(dir)
	var out []int32
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".log"); ok {
			if v, err := strconv.ParseInt(n, 10, 32); err == nil {
				out = append(out, int32(v))
			}
		}
	}
	slices.Sort(out)
	return out
}

// limitWriter stops after left bytes (left < 0: no limit) and flushes
// after each write.
type limitWriter struct {
	w    io.Writer
	left int64
}

var errLimit = errors.New("limit reached")

func (l *limitWriter) Write(b []byte) (int, error) {
	if l.left == 0 {
		return 0, errLimit
	}
	if l.left > 0 && int64(len(b)) > l.left {
		b = b[:l.left]
	}
	n, err := l.w.Write(b)
	if l.left > 0 {
		l.left -= int64(n)
	}
	if f, ok := l.w.(http.Flusher); ok {
		f.Flush()
	}
	if err == nil && l.left == 0 {
		err = errLimit
	}
	return n, err
}

// streamLog writes the entries of a log file as kubectl shows them.
func streamLog(ctx context.Context, w io.Writer, path string, o logOptions, active func() bool) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	var next *os.File // the new file after a rotation, once seen
	defer func() {
		f.Close()
		if next != nil {
			next.Close()
		}
	}()
	var pending []byte // a partial line waiting for its end
	emit := func(l runtime.LogLine) error {
		if !o.since.IsZero() && l.Time.Before(o.since) {
			return nil
		}
		var b []byte
		if o.timestamps && len(pending) == 0 {
			b = l.Time.UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, ' ')
		}
		b = append(b, l.Text...)
		if l.Partial {
			pending = append(pending, b...)
			return nil
		}
		b = append(append(pending, b...), '\n')
		pending = nil
		_, err := w.Write(b)
		return err
	}
	br := bufio.NewReader(f)
	if o.tailLines >= 0 {
		lines := tailEntries(br, o.tailLines)
		for _, l := range lines {
			if emit(l) != nil {
				return
			}
		}
	}
	var partial []byte
	for {
		chunk, err := br.ReadBytes('\n')
		if len(chunk) > 0 && err == nil {
			line := append(partial, chunk[:len(chunk)-1]...)
			partial = nil
			if l, perr := runtime.ParseLogLine(line); perr == nil {
				if emit(l) != nil {
					return
				}
			}
			continue
		}
		partial = append(partial, chunk...)
		if !o.follow {
			return
		}
		if next != nil {
			// The rotated file is read to its end: on to the new one.
			f.Close()
			f, br, partial, next = next, bufio.NewReader(next), nil, nil
			continue
		}
		// At the end: wait for more while the run may still write.
		still := active()
		if !still {
			// One last read for what came before the end.
			if more, _ := br.Peek(1); len(more) > 0 {
				continue
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(followPoll):
		}
		// The path names another file: the log was rotated (see
		// runtime.Rotation). Lines written before the rotation may still
		// be unread: read the old file to its end first.
		if rotated(f, path) {
			if next, err = os.Open(path); err != nil {
				return
			}
		}
	}
}

// rotated reports whether path no longer names the open file f.
func rotated(f *os.File, path string) bool {
	open, err1 := f.Stat()
	now, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && !os.SameFile(open, now)
}

// tailEntries reads the whole file and returns its last n entries
// (partial pieces belong to the entry they end in).
func tailEntries(br *bufio.Reader, n int64) []runtime.LogLine {
	var all []runtime.LogLine
	var complete int64
	for {
		chunk, err := br.ReadBytes('\n')
		if err != nil {
			// An unfinished last line is left for the follower; put it
			// back is not possible, so it is dropped (it is being written).
			break
		}
		l, perr := runtime.ParseLogLine(bytes.TrimSuffix(chunk, []byte{'\n'}))
		if perr != nil {
			continue
		}
		all = append(all, l)
		if !l.Partial {
			complete++
		}
	}
	// Walk back n complete entries.
	start := len(all)
	for count := int64(0); start > 0; start-- {
		if !all[start-1].Partial {
			if count == n {
				break
			}
			count++
		}
	}
	return all[start:]
}
