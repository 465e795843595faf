package embedetcd

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const childDirEnv = "EMBEDETCD_TEST_CHILD_DIR"

// TestKillChild is the child half of TestSurvivesSIGKILL: it writes a key,
// reports its revision and waits to be killed.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("child process of TestSurvivesSIGKILL only")
	}
	s, err := Start(t.Context(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	put, err := s.Client().Put(t.Context(), "/acked", "yes")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("acked %d\n", put.Header.Revision)
	time.Sleep(time.Minute) // killed long before
}

func TestSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.v")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rev int64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			fmt.Sscan(line, &rev)
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	if rev == 0 {
		t.Fatal("child never acknowledged its write")
	}

	s, err := Start(t.Context(), Config{Dir: dir})
	if err != nil {
		t.Fatalf("restart after SIGKILL: %v", err)
	}
	defer s.Close()
	get, err := s.Client().Get(t.Context(), "/acked")
	if err != nil {
		t.Fatal(err)
	}
	if len(get.Kvs) != 1 || get.Kvs[0].ModRevision != rev {
		t.Fatalf("after SIGKILL got %v, want the write at %d", get.Kvs, rev)
	}
}
