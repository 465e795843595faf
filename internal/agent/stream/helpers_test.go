package stream

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"k8s.io/client-go/rest"
)

// helperEnv makes the test binary act as the command run by exec.
const helperEnv = "STREAM_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helperMain implements the commands the tests exec:
//
//	echo CODE  copy stdin to stdout, write "stderr-line" to stderr, exit CODE
//	out TEXT   print TEXT, exit 0
//	sleep      sleep a minute
//	late       print "late" after 1.5s
//	tty        wait until the terminal is 100x40, say so, echo one line
func helperMain(args []string) int {
	if len(args) == 0 {
		return 100
	}
	switch args[0] {
	case "echo":
		_, _ = io.Copy(os.Stdout, os.Stdin)
		fmt.Fprintln(os.Stderr, "stderr-line")
		code, _ := strconv.Atoi(args[1])
		return code
	case "sleep":
		time.Sleep(time.Minute)
		return 0
	case "late":
		time.Sleep(1500 * time.Millisecond)
		fmt.Println("late")
		return 0
	case "out":
		fmt.Println(strings.Join(args[1:], " "))
		return 0
	case "tty":
		deadline := time.Now().Add(10 * time.Second)
		for {
			ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
			if err != nil {
				fmt.Println("not a terminal:", err)
				return 101
			}
			if ws.Col == 100 && ws.Row == 40 {
				break
			}
			if time.Now().After(deadline) {
				fmt.Printf("size stayed %dx%d\n", ws.Col, ws.Row)
				return 102
			}
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Println("size 100x40")
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Printf("got:%s\n", strings.TrimSpace(line))
		return 0
	}
	return 100
}

// helperExecutor runs the test binary in helper mode with cmd as its
// arguments, as the agent would run a pod's command.
func helperExecutor(t *testing.T) Executor {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return CmdExecutor(func(ctx context.Context, cmd []string) (*exec.Cmd, error) {
		c := exec.Command(self, cmd...)
		c.Env = append(os.Environ(), helperEnv+"=1")
		return c, nil
	})
}

// startServer serves ServeExec on /exec and ServePortForward on
// /portforward over TLS on 127.0.0.1, and returns a client config for it.
func startServer(t *testing.T, exec Executor, dial Dialer) (*httptest.Server, *rest.Config) {
	t.Helper()
	return startServerWithTimeout(t, exec, dial, 0)
}

// startServerWithTimeout is startServer with the http.Server's read and
// write timeouts set, as a hardened agent server would have them.
func startServerWithTimeout(t *testing.T, exec Executor, dial Dialer, timeout time.Duration) (*httptest.Server, *rest.Config) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/exec", func(w http.ResponseWriter, r *http.Request) { ServeExec(w, r, exec) })
	mux.HandleFunc("/portforward", func(w http.ResponseWriter, r *http.Request) { ServePortForward(w, r, dial) })
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = timeout, timeout
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv, &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

// startEchoServer is the "pod port": it answers every line with
// "echo:<line>" until the client closes.
func startEchoServer(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := fmt.Fprintf(c, "echo:%s\n", sc.Text()); err != nil {
						return
					}
				}
			}()
		}
	}()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func newPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
