package stream

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

func startAttachServer(t *testing.T, attach Attacher) (*httptest.Server, *rest.Config) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/attach", func(w http.ResponseWriter, r *http.Request) { ServeAttach(w, r, attach) })
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv, &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

func attachURL(srv string, stdin, stderr, tty bool) *url.URL {
	q := url.Values{}
	q.Set("container", "c")
	q.Set("stdout", "true")
	q.Set("stderr", fmt.Sprint(stderr))
	q.Set("stdin", fmt.Sprint(stdin))
	q.Set("tty", fmt.Sprint(tty))
	u, _ := url.Parse(srv + "/attach?" + q.Encode())
	return u
}

// echoAttacher says which streams it got, then copies stdin to stdout
// until the client's input ends; "fail" on stdin fails the session.
func echoAttacher(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) error {
	fmt.Fprintf(stdout, "stdin=%v stderr=%v tty=%v resize=%v\n", stdin != nil, stderr != nil, tty, resize != nil)
	if stderr != nil {
		fmt.Fprintln(stderr, "to stderr")
	}
	if stdin == nil {
		return nil
	}
	b, _ := io.ReadAll(stdin)
	if string(b) == "fail" {
		return errors.New("boom")
	}
	_, err := stdout.Write(b)
	return err
}

// Attach speaks exec's protocols without a command: the streams asked
// for reach the attacher, and its error reaches the client as the
// kubelet words it.
func TestAttachRoundTrip(t *testing.T) {
	srv, cfg := startAttachServer(t, echoAttacher)
	for _, kind := range []executorKind{viaSPDY, viaWebSocket, viaFallback} {
		t.Run(string(kind), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			var out, errb bytes.Buffer
			ex := newExecutor(t, kind, cfg, attachURL(srv.URL, true, true, false))
			err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("hello\n"), Stdout: &out, Stderr: &errb})
			if err != nil {
				t.Fatalf("attach: %v", err)
			}
			if want := "stdin=true stderr=true tty=false resize=false\nhello\n"; out.String() != want {
				t.Errorf("stdout = %q, want %q", out.String(), want)
			}
			if errb.String() != "to stderr\n" {
				t.Errorf("stderr = %q", errb.String())
			}

			out.Reset()
			ex = newExecutor(t, kind, cfg, attachURL(srv.URL, false, false, false))
			if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out}); err != nil {
				t.Fatalf("attach without stdin: %v", err)
			}
			if want := "stdin=false stderr=false tty=false resize=false\n"; out.String() != want {
				t.Errorf("stdout = %q, want %q", out.String(), want)
			}

			out.Reset()
			ex = newExecutor(t, kind, cfg, attachURL(srv.URL, true, false, false))
			err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("fail"), Stdout: &out})
			if err == nil || !strings.Contains(err.Error(), "error attaching to container: boom") {
				t.Fatalf("failed attach: %v", err)
			}
		})
	}
}

// A tty session has no stderr and carries resizes.
func TestAttachTTY(t *testing.T) {
	sizes := make(chan remotecommand.TerminalSize, 4)
	srv, cfg := startAttachServer(t, func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) error {
		if stderr != nil || !tty || resize == nil {
			return fmt.Errorf("stderr %v tty %v resize %v", stderr != nil, tty, resize != nil)
		}
		// Both at once: the WebSocket channels share one connection.
		sized := make(chan struct{})
		go func() {
			defer close(sized)
			select {
			case s := <-resize:
				sizes <- s
			case <-ctx.Done():
			}
		}()
		_, err := io.Copy(stdout, stdin)
		<-sized
		return err
	})
	for _, kind := range []executorKind{viaSPDY, viaWebSocket} {
		t.Run(string(kind), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out bytes.Buffer
			ex := newExecutor(t, kind, cfg, attachURL(srv.URL, true, false, true))
			err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{
				Stdin: strings.NewReader("typed"), Stdout: &out, Tty: true,
				TerminalSizeQueue: &oneSize{size: remotecommand.TerminalSize{Width: 100, Height: 40}},
			})
			if err != nil {
				t.Fatalf("attach -t: %v", err)
			}
			if out.String() != "typed" {
				t.Errorf("stdout = %q", out.String())
			}
			select {
			case s := <-sizes:
				if s.Width != 100 || s.Height != 40 {
					t.Errorf("size %+v", s)
				}
			case <-time.After(10 * time.Second):
				t.Error("no terminal size")
			}
		})
	}
}

// oneSize reports one size, then that there are no more.
type oneSize struct {
	size remotecommand.TerminalSize
	sent bool
}

func (o *oneSize) Next() *remotecommand.TerminalSize {
	if o.sent {
		return nil
	}
	o.sent = true
	return &o.size
}
