package runtime

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitOutput reads o until the stream's text contains want.
func waitOutput(t *testing.T, o *Output, stream, want string) string {
	t.Helper()
	var got bytes.Buffer
	deadline := time.After(10 * time.Second)
	for !strings.Contains(got.String(), want) {
		chunks, more := o.Next()
		for _, c := range chunks {
			if c.Stream == stream {
				got.Write(c.Data)
			}
		}
		if strings.Contains(got.String(), want) {
			break
		}
		if !more {
			t.Fatalf("output ended; %s so far %q, want %q", stream, got.String(), want)
		}
		select {
		case <-o.Ready():
		case <-deadline:
			t.Fatalf("%s so far %q, want %q", stream, got.String(), want)
		}
	}
	return got.String()
}

// drain reads o to its end and returns how much it got.
func drain(t *testing.T, o *Output) int {
	t.Helper()
	n := 0
	deadline := time.After(10 * time.Second)
	for {
		chunks, more := o.Next()
		for _, c := range chunks {
			n += len(c.Data)
		}
		if !more {
			return n
		}
		select {
		case <-o.Ready():
		case <-deadline:
			t.Fatal("output did not end")
		}
	}
}

func waitDone(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("process did not end")
	}
}

func startT(t *testing.T, sp Spec) *Process {
	t.Helper()
	p, err := Start(sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-p.PID, syscall.SIGKILL) })
	return p
}

// A subscriber gets both streams as they are written, from the moment
// it subscribed, until the output ends.
func TestSubscribeLiveOutput(t *testing.T) {
	dir := t.TempDir()
	p := startT(t, spec(t, dir, "ticker"))
	o := p.Subscribe()
	defer o.Close()
	out := waitOutput(t, o, Stdout, "\n")
	if strings.Contains(out, "tock") {
		t.Fatalf("stderr on stdout: %q", out)
	}
	waitOutput(t, o, Stderr, "tock")
	p.Signal(syscall.SIGKILL)
	waitDone(t, p)
	// Ends with the output; late subscribers get an ended output.
	drain(t, o)
	if o.FellBehind() {
		t.Error("reader said to have fallen behind")
	}
	if n := drain(t, p.Subscribe()); n != 0 {
		t.Errorf("subscription after the end got %d bytes", n)
	}
}

// A subscriber that does not read is dropped, without holding up the
// log; one that reads gets everything.
func TestSubscriberFallsBehind(t *testing.T) {
	dir := t.TempDir()
	sp := spec(t, dir, "flood")
	p, err := Start(sp)
	if err != nil {
		t.Fatal(err)
	}
	idle, reader := p.Subscribe(), p.Subscribe()
	got := make(chan int, 1)
	go func() { got <- drain(t, reader) }()
	select {
	case <-p.LogsDone():
	case <-time.After(20 * time.Second):
		t.Fatal("a reader that does not read held up the log")
	}
	if !idle.FellBehind() {
		t.Error("idle reader not dropped")
	}
	if chunks, more := idle.Next(); len(chunks) != 0 || more {
		t.Errorf("dropped reader still gets output (%d chunks, more %v)", len(chunks), more)
	}
	if n := <-got; n != floodBytes {
		t.Errorf("reader got %d bytes, want %d", n, floodBytes)
	}
}

// Without Stdin a container reads /dev/null and has no stdin to write.
func TestNoStdin(t *testing.T) {
	dir := t.TempDir()
	p := startT(t, spec(t, dir, "stdin-path"))
	if _, err := p.OpenStdin(); !errors.Is(err, ErrNoStdin) {
		t.Errorf("OpenStdin = %v, want ErrNoStdin", err)
	}
	waitDone(t, p)
	<-p.LogsDone()
	var text []string
	for _, l := range readLog(t, filepath.Join(dir, "0.log")) {
		text = append(text, string(l.Text))
	}
	if len(text) != 1 || text[0] != "stdin /dev/null <nil>" {
		t.Fatalf("log %q", text)
	}
}

func writeStdin(t *testing.T, p *Process, s string) {
	t.Helper()
	w, err := p.OpenStdin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// A Stdin container's input outlives writers and agents: a session that
// ends does not end it, and after a detach (agent restart) the pipe is
// opened again.
func TestStdinAcrossSessionsAndAdopt(t *testing.T) {
	dir := t.TempDir()
	sp := spec(t, dir, "echo-stdin")
	sp.Stdin = true
	p := startT(t, sp)
	o := p.Subscribe()
	waitOutput(t, o, Stdout, "ready")
	writeStdin(t, p, "one\n")
	waitOutput(t, o, Stdout, "got:one")
	writeStdin(t, p, "two\n")
	out := waitOutput(t, o, Stdout, "got:two")
	if strings.Contains(out, "eof") {
		t.Fatalf("input ended with a session: %q", out)
	}
	p.Detach()
	q, err := Adopt(p.PID, p.StartTicks, p.StartedAt, sp)
	if err != nil {
		t.Fatal(err)
	}
	o = q.Subscribe()
	writeStdin(t, q, "three\n")
	if out := waitOutput(t, o, Stdout, "got:three"); strings.Contains(out, "eof") {
		t.Fatalf("input ended: %q", out)
	}
}

// A StdinOnce input stays open until CloseStdin, across a detach (the
// holder keeps it), then ends: the program reads EOF, and the input
// cannot be opened again.
func TestStdinOnce(t *testing.T) {
	dir := t.TempDir()
	sp := spec(t, dir, "echo-stdin")
	sp.Stdin, sp.StdinOnce = true, true
	p := startT(t, sp)
	o := p.Subscribe()
	waitOutput(t, o, Stdout, "ready")
	p.Detach()
	q, err := Adopt(p.PID, p.StartTicks, p.StartedAt, sp)
	if err != nil {
		t.Fatal(err)
	}
	o = q.Subscribe()
	writeStdin(t, q, "first\n")
	waitOutput(t, o, Stdout, "got:first")
	// A writer that closed did not end the input.
	writeStdin(t, q, "second\n")
	if out := waitOutput(t, o, Stdout, "got:second"); strings.Contains(out, "eof") {
		t.Fatalf("input ended before CloseStdin: %q", out)
	}
	w, err := q.OpenStdin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "last\n"); err != nil {
		t.Fatal(err)
	}
	if err := q.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	waitOutput(t, o, Stdout, "got:last\neof")
	waitDone(t, q)
	if _, err := q.OpenStdin(); !errors.Is(err, ErrNoStdin) {
		t.Errorf("OpenStdin after CloseStdin = %v, want ErrNoStdin", err)
	}
}

// The stdin holder goes away by itself with the container.
func TestStdinHolderEndsWithContainer(t *testing.T) {
	dir := t.TempDir()
	sp := spec(t, dir, "echo-stdin")
	sp.Stdin, sp.StdinOnce = true, true
	p := startT(t, sp)
	o := p.Subscribe()
	waitOutput(t, o, Stdout, "ready")
	p.Signal(syscall.SIGKILL)
	waitDone(t, p)
	release := filepath.Join(dir, "0.pipe", releasePipe)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The holder is the release pipe's only reader.
		f, err := os.OpenFile(release, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			break
		}
		f.Close()
		if time.Now().After(deadline) {
			t.Fatal("stdin holder still runs")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A TTY container runs on a terminal held by the console shim, which
// outlives the agent: sizes and input reach it (after a detach too), its
// output comes on stdout, its exit code back.
func TestTTY(t *testing.T) {
	if _, err := os.Stat("/dev/ptmx"); err != nil {
		t.Skip("no /dev/ptmx")
	}
	dir := t.TempDir()
	sp := spec(t, dir, "tty")
	sp.Stdin, sp.TTY = true, true
	first := startT(t, sp)
	waitOutput(t, first.Subscribe(), Stdout, "on a terminal")
	first.Detach()
	p, err := Adopt(first.PID, first.StartTicks, first.StartedAt, sp)
	if err != nil {
		t.Fatal(err)
	}
	o := p.Subscribe()
	if err := p.Resize(100, 40); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, o, Stdout, "size 100x40")
	writeStdin(t, p, "ping\n")
	waitOutput(t, o, Stdout, "got:ping")
	waitDone(t, p)
	// The adopted shim's exit code is unknown; the first process, still
	// our child, knows it.
	waitDone(t, first)
	if e := first.Exit(); !e.Known || e.Code != 7 {
		t.Fatalf("exit %+v, want code 7", e)
	}
}
