package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Test hooks for the integration tests (package agent_test, which can
// import testserver without an import cycle).

// BackoffDelay is the current restart delay of a container.
func (a *Agent) BackoffDelay(uid types.UID, container string) time.Duration {
	w := a.worker(uid)
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if cs := w.st.Containers[container]; cs != nil {
		return cs.BackoffDelay
	}
	return 0
}

// Adopted reports whether the pod's worker has looked for the processes
// of an earlier agent.
func (a *Agent) Adopted(uid types.UID) bool {
	w := a.worker(uid)
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.adopted
}

// RecordedProcesses lists pid and start ticks of every run recorded
// under dir.
func RecordedProcesses(dir string) [][2]uint64 {
	files, _ := filepath.Glob(filepath.Join(dir, "pods", "*", "state.json"))
	var out [][2]uint64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var st podState
		if json.Unmarshal(b, &st) != nil {
			continue
		}
		for _, cs := range st.Containers {
			if r := cs.Run; r != nil && r.PID > 0 {
				out = append(out, [2]uint64{uint64(r.PID), r.Ticks})
			}
		}
	}
	return out
}

// SeesService reports whether the agent's service cache holds a service.
func (a *Agent) SeesService(ns, name string) bool {
	_, err := a.svcLister.Services(ns).Get(name)
	return err == nil
}

// SeesConfigMap reports whether the agent's ConfigMap cache holds the
// given resourceVersion of a ConfigMap.
func (a *Agent) SeesConfigMap(ns, name, rv string) bool {
	cm, err := a.cmLister.ConfigMaps(ns).Get(name)
	return err == nil && cm.ResourceVersion == rv
}
