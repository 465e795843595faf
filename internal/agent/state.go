package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/internal/agent/runtime"
)

// podState is what the agent remembers about a pod across its own
// restarts, kept as DATA/pods/<ns>_<name>_<uid>/state.json.
type podState struct {
	UID        types.UID            `json:"uid"`
	Namespace  string               `json:"namespace"`
	Name       string               `json:"name"`
	IP         string               `json:"ip,omitempty"`
	StartTime  time.Time            `json:"startTime"`
	Containers map[string]*ctrState `json:"containers"`
}

// ctrState is one container of a pod (init or regular; names are unique
// across both).
type ctrState struct {
	RestartCount int32 `json:"restartCount"`
	// Run is the current run, or the last one when it has ended; nil
	// before the first start.
	Run *runRecord `json:"run,omitempty"`
	// Last is the run before Run (the status' lastState).
	Last *runRecord `json:"last,omitempty"`
	// BackoffDelay is how long after Run ended the next start waits.
	BackoffDelay time.Duration `json:"backoffDelay"`
	// WaitReason and WaitMessage say why the container is not running
	// when it could not be started (CreateContainerConfigError).
	WaitReason  string    `json:"waitReason,omitempty"`
	WaitMessage string    `json:"waitMessage,omitempty"`
	RetryAt     time.Time `json:"retryAt"`
	// Path is the executable of the current run (the status' imageID).
	Path string `json:"path,omitempty"`

	// Probe results of the current run.
	Ready   bool `json:"ready"`
	Started bool `json:"started"`

	proc   *runtime.Process // nil unless Run is running and watched
	probes *probeSet
	// postStarting is set while the run's postStart hook runs;
	// hookCancel stops that hook.
	postStarting bool
	hookCancel   func()
}

// runRecord is one run of a container.
type runRecord struct {
	// Attempt numbers runs from 0; it names the log file.
	Attempt    int32     `json:"attempt"`
	PID        int       `json:"pid,omitempty"`
	Ticks      uint64    `json:"ticks,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	Running    bool      `json:"running"`
	FinishedAt time.Time `json:"finishedAt"`
	ExitCode   int32     `json:"exitCode"`
	Signal     int32     `json:"signal,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
}

func podDirName(ns, name string, uid types.UID) string {
	return ns + "_" + name + "_" + string(uid)
}

func (a *Agent) podDir(ns, name string, uid types.UID) string {
	return filepath.Join(a.cfg.DataDir, "pods", podDirName(ns, name, uid))
}

func (a *Agent) logPath(ns, name string, uid types.UID, container string, attempt int32) string {
	return filepath.Join(a.podDir(ns, name, uid), container, strconv.Itoa(int(attempt))+".log")
}

func (a *Agent) pipeDir(ns, name string, uid types.UID, container string, attempt int32) string {
	return filepath.Join(a.podDir(ns, name, uid), container, strconv.Itoa(int(attempt))+".pipe")
}

func (a *Agent) saveState(st *podState) error {
	dir := a.podDir(st.Namespace, st.Name, st.UID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pod dir: %w", err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode pod state: %w", err)
	}
	tmp := filepath.Join(dir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write pod state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "state.json")); err != nil {
		return fmt.Errorf("write pod state: %w", err)
	}
	return nil
}

// loadStates reads every pod state left by an earlier agent.
func (a *Agent) loadStates() (map[types.UID]*podState, error) {
	root := filepath.Join(a.cfg.DataDir, "pods")
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return map[types.UID]*podState{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pod states: %w", err)
	}
	out := map[types.UID]*podState{}
	for _, e := range ents {
		if !e.IsDir() || strings.Count(e.Name(), "_") < 2 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name(), "state.json"))
		if err != nil {
			continue
		}
		var st podState
		if err := json.Unmarshal(b, &st); err != nil || st.UID == "" {
			a.log.Warn("skipping unreadable pod state", "dir", e.Name(), "err", err)
			continue
		}
		if st.Containers == nil {
			st.Containers = map[string]*ctrState{}
		}
		out[st.UID] = &st
	}
	return out, nil
}
