package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// attachWorkload runs the workloads of TestAttach (see runWorkload).
func attachWorkload(w string) (int, bool) {
	switch w {
	case "upper":
		// Answers each input line in capitals; exits when the input ends.
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println(strings.ToUpper(sc.Text()))
		}
		return 0, true
	case "count":
		// Counts to 10, one line each 200ms, then exits.
		for i := 1; i <= 10; i++ {
			fmt.Println("count", i)
			time.Sleep(200 * time.Millisecond)
		}
		return 0, true
	}
	return 0, false
}

// TestAttach runs kubectl's attach flows against a real server, with
// both kubectls: `kubectl run -i --rm` (the pod gets stdin and
// stdinOnce; kubectl attaches with its input, which reaches the program,
// whose output comes back; the input's end ends the program, and the pod
// is deleted), and `kubectl run --attach` without -i (the output is
// streamed until the container ends).
func TestAttach(t *testing.T) {
	s := startServer(t, "")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kubectls(t, s) {
		t.Run(k.name, func(t *testing.T) {
			pod := "upper-" + k.name
			r := k.run(t, "hello\nworld\n", "run", pod, "-i", "--rm", "--restart=Never", "--image=skiff-e2e",
				"--env="+workloadEnv+"=upper", "--command", "--", self)
			if r.err != nil {
				t.Fatalf("kubectl run -i --rm: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "HELLO\nWORLD\n") || strings.Contains(r.stderr, "falling back to streaming logs") {
				t.Fatalf("kubectl run -i: stdout %q, stderr %q", r.stdout, r.stderr)
			}
			if out := k.ok(t, "", "get", "pods", "-o", "name"); strings.Contains(out, pod) {
				t.Fatalf("--rm left the pod: %s", out)
			}

			pod = "count-" + k.name
			r = k.run(t, "", "run", pod, "--attach", "--rm", "--restart=Never", "--image=skiff-e2e",
				"--env="+workloadEnv+"=count", "--command", "--", self)
			if r.err != nil {
				t.Fatalf("kubectl run --attach: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "count 10\n") || strings.Contains(r.stderr, "falling back to streaming logs") {
				t.Fatalf("kubectl run --attach: stdout %q, stderr %q", r.stdout, r.stderr)
			}
		})
	}
}
