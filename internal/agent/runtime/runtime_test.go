package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain makes the test binary its own workload (see run below).
func TestMain(m *testing.M) {
	switch os.Getenv("RUNTIME_TEST_WORKLOAD") {
	case "":
		os.Exit(m.Run())
	case "print-exit":
		fmt.Println("out line")
		fmt.Fprintln(os.Stderr, "err line")
		fmt.Print(strings.Repeat("x", maxLine+10) + "\n")
		fmt.Print("no newline")
		os.Exit(5)
	case "read-file":
		// Reads READ_FILE (inside a mount), prints it and where it runs.
		b, err := os.ReadFile(os.Getenv("READ_FILE"))
		wd, _ := os.Getwd()
		fmt.Printf("read %q %v wd=%s shim=%q\n", b, err, wd, os.Getenv(shimEnv))
		os.Exit(0)
	case "sleep":
		fmt.Println("sleeping")
		time.Sleep(time.Hour)
	case "ticker":
		// "tick N" on stdout and "tock N" on stderr every 20ms.
		for i := 0; ; i++ {
			fmt.Printf("tick %d\n", i)
			fmt.Fprintf(os.Stderr, "tock %d\n", i)
			time.Sleep(20 * time.Millisecond)
		}
	case "echo-stdin":
		// Echoes stdin lines as "got:LINE", says "eof" at its end.
		fmt.Println("ready")
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Printf("got:%s\n", sc.Text())
		}
		fmt.Println("eof")
		os.Exit(0)
	case "stdin-path":
		// Says what its stdin is.
		target, err := os.Readlink("/proc/self/fd/0")
		fmt.Printf("stdin %s %v\n", target, err)
		os.Exit(0)
	case "tty":
		// On a terminal: waits for the size 100x40, echoes one line,
		// exits 7.
		if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
			fmt.Println("not a terminal:", err)
			os.Exit(1)
		}
		fmt.Println("on a terminal")
		for {
			ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
			if err == nil && ws.Col == 100 && ws.Row == 40 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Println("size 100x40")
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Printf("got:%s\n", strings.TrimSpace(line))
		os.Exit(7)
	case "flood":
		// floodBytes of output in lines of 100 bytes.
		line := strings.Repeat("z", 99) + "\n"
		for range floodBytes / 100 {
			fmt.Print(line)
		}
		os.Exit(0)
	case "lines":
		// 2000 numbered lines of 100 bytes.
		for i := range 2000 {
			fmt.Printf("%05d %s\n", i, strings.Repeat("y", 94))
		}
		os.Exit(0)
	}
}

// floodBytes is how much the "flood" workload writes: more than an
// Output holds unread.
const floodBytes = 60000 * 100

func spec(t *testing.T, dir, workload string) Spec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{
		Path: exe, Env: []string{"RUNTIME_TEST_WORKLOAD=" + workload}, Dir: "/",
		LogPath: filepath.Join(dir, "0.log"), PipeDir: filepath.Join(dir, "0.pipe"),
	}
}

func readLog(t *testing.T, path string) []LogLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []LogLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l, err := ParseLogLine(bytes.Clone(sc.Bytes()))
		if err != nil {
			t.Fatalf("parse %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func TestStartExitAndLogs(t *testing.T) {
	dir := t.TempDir()
	p, err := Start(spec(t, dir, "print-exit"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		p.Signal(syscall.SIGKILL)
		t.Fatal("no exit noticed")
	}
	if e := p.Exit(); !e.Known || e.Code != 5 {
		t.Fatalf("exit = %+v", e)
	}
	<-p.LogsDone()
	lines := readLog(t, filepath.Join(dir, "0.log"))
	var out, errs []string
	partials := 0
	for _, l := range lines {
		if l.Partial {
			partials++
			continue
		}
		if l.Stream == Stdout {
			out = append(out, string(l.Text))
		} else {
			errs = append(errs, string(l.Text))
		}
	}
	if len(out) != 3 || out[0] != "out line" || out[2] != "no newline" || len(errs) != 1 || errs[0] != "err line" || partials != 1 {
		t.Fatalf("out %d %q, err %q, partials %d", len(out), out, errs, partials)
	}
}

func TestSignalAndAdopt(t *testing.T) {
	dir := t.TempDir()
	p, err := Start(spec(t, dir, "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-p.PID, syscall.SIGKILL) })
	if !Alive(p.PID, p.StartTicks) {
		t.Fatal("not alive")
	}
	// Wait until the child wrote its first line, then detach (an agent
	// stopping) and adopt it again (the next agent).
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(filepath.Join(dir, "0.log")); bytes.Contains(b, []byte("sleeping")) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Detach()
	if _, err := Adopt(p.PID, p.StartTicks+1, p.StartedAt, spec(t, dir, "sleep")); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("adopt with wrong ticks: %v", err)
	}
	q, err := Adopt(p.PID, p.StartTicks, p.StartedAt, spec(t, dir, "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-q.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("adopted exit not noticed")
	}
	if e := q.Exit(); e.Known {
		t.Errorf("adopted exit claims to be known: %+v", e)
	}
}

func TestParseLogLine(t *testing.T) {
	for _, tc := range []struct {
		in      string
		stream  string
		partial bool
		text    string
		err     bool
	}{
		{"2024-01-02T03:04:05.000000006Z stdout F hello world", Stdout, false, "hello world", false},
		{"2024-01-02T03:04:05.000000006Z stderr P part", Stderr, true, "part", false},
		{"2024-01-02T03:04:05.000000006Z stdout F ", Stdout, false, "", false},
		{"2024-01-02T03:04:05.000000006Z stdout F", Stdout, false, "", false},
		{"garbage", "", false, "", true},
		{"notatime stdout F x", "", false, "", true},
	} {
		l, err := ParseLogLine([]byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if err == nil && (l.Stream != tc.stream || l.Partial != tc.partial || string(l.Text) != tc.text) {
			t.Errorf("%q: got %+v", tc.in, l)
		}
	}
}
