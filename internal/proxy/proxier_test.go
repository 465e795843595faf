package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// logRecorder keeps the messages logged, to see which listeners a sync
// touched.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Message
	rec.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) count(substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// keepAlive is one client connection on which requests are sent in turn.
type keepAlive struct {
	c net.Conn
	r *bufio.Reader
}

func dialKeepAlive(t *testing.T, addr string) *keepAlive {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &keepAlive{c: c, r: bufio.NewReader(c)}
}

func (k *keepAlive) get() (string, error) {
	k.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(k.c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(k.r, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestIncrementalUpdates: a change to one service leaves the listeners of
// the others alone; endpoints that leave get no new connection while the
// connections they have keep working.
func TestIncrementalUpdates(t *testing.T) {
	rec := &logRecorder{}
	client, _ := runFake(t, slog.New(rec))
	ctx := context.Background()
	podA1, podA2 := randomIP(71), randomIP(71)
	a1 := httpBackend(t, podA1.String()+":0", "a1")
	a2 := httpBackend(t, podA2.String()+":"+fmt.Sprint(a1.Port()), "a2")
	b1 := httpBackend(t, randomIP(71).String()+":0", "b1")
	vipA, vipB := randomIP(99), randomIP(99)
	fakeService(t, client, "a", vipA, 80, a1, a2)
	fakeService(t, client, "b", vipB, 80, b1)
	addrA, addrB := vipA.String()+":80", vipB.String()+":80"
	waitFor(t, "service a", func() bool { s, err := get(addrA); return err == nil && s != "" })
	waitFor(t, "service b", func() bool { s, err := get(addrB); return err == nil && s == "b1" })

	held := dialKeepAlive(t, addrA)
	first, err := held.get()
	if err != nil {
		t.Fatal(err)
	}
	listenA := "service=default/a"
	before := rec.count(listenA)

	// b gains an endpoint: a's listener is not touched.
	b2 := httpBackend(t, randomIP(71).String()+":0", "b2")
	s2 := fakeSlice("b", b2)
	s2.Name = "b-2"
	if _, err := client.DiscoveryV1().EndpointSlices("default").Create(ctx, s2, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b2 behind b", func() bool { s, _ := get(addrB); return s == "b2" })
	if n := rec.count(listenA); n != before {
		t.Fatalf("a change to b logged %d listener events of a", n-before)
	}
	if s, err := held.get(); err != nil || s != first {
		t.Fatalf("held connection after a change of b: %q, %v (want %q)", s, err, first)
	}

	// The endpoint of the held connection leaves a: no new connection
	// goes to it; the held one drains.
	keep := a1
	if first == "a1" {
		keep = a2
	}
	if _, err := client.DiscoveryV1().EndpointSlices("default").Update(ctx, fakeSlice("a", keep), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := map[string]string{"a1": "a2", "a2": "a1"}[first]
	waitFor(t, first+" out of a", func() bool {
		for range 4 {
			if s, _ := get(addrA); s != other {
				return false
			}
		}
		return true
	})
	for range 20 {
		if s, err := get(addrA); err != nil || s != other {
			t.Fatalf("new connection after %s left: %q, %v", first, s, err)
		}
	}
	if s, err := held.get(); err != nil || s != first {
		t.Fatalf("held connection did not drain: %q, %v (want %q)", s, err, first)
	}
	if n := rec.count(listenA); n != before {
		t.Fatalf("an endpoint change of a reopened its listener (%d events)", n-before)
	}

	// b goes: its address refuses; a still serves.
	if err := client.CoreV1().Services("default").Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's listener closed", func() bool { _, err := get(addrB); return err != nil })
	if s, err := get(addrA); err != nil || s != other {
		t.Fatalf("a after b was deleted: %q, %v", s, err)
	}
}

// TestListenRetried: an address held by someone else is taken once freed.
func TestListenRetried(t *testing.T) {
	rec := &logRecorder{}
	client, _ := runFake(t, slog.New(rec))
	backend := httpBackend(t, randomIP(71).String()+":0", "late")
	vip := randomIP(99)
	squatter, err := net.Listen("tcp", vip.String()+":80")
	if err != nil {
		t.Fatal(err)
	}
	fakeService(t, client, "late", vip, 80, backend)
	waitFor(t, "a bind failure", func() bool { return rec.count("cannot listen") > 0 })
	squatter.Close()
	waitFor(t, "the service after its address was freed", func() bool { s, err := get(vip.String() + ":80"); return err == nil && s == "late" })
	if n := rec.count("cannot listen"); n != 1 {
		t.Errorf("warned %d times about one listener, want once", n)
	}
}
