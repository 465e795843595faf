package inproc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func client(h http.HandlerFunc) *http.Client {
	return &http.Client{Transport: &Transport{Handler: h}}
}

func TestRequestAndResponse(t *testing.T) {
	c := client(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.RequestURI+" "+r.Header.Get("Authorization")+" "+string(b))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, "made")
	})
	req, _ := http.NewRequest(http.MethodPost, "https://api.example:6443/api/v1/pods?limit=1", strings.NewReader("body"))
	req.Header.Set("Authorization", "Bearer t")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || string(got) != "made" || resp.Header.Get("X-Seen") != "POST /api/v1/pods?limit=1 Bearer t body" {
		t.Fatalf("got %d %q %q", resp.StatusCode, got, resp.Header.Get("X-Seen"))
	}
}

func TestHandlerThatWritesNothingAnswers200(t *testing.T) {
	resp, err := client(func(http.ResponseWriter, *http.Request) {}).Get("https://x/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// A watch: the header comes at once, events as they are written, and
// closing the body ends the handler through its context.
func TestStreamingAndCancel(t *testing.T) {
	ended := make(chan error, 1)
	events := make(chan string)
	c := client(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.(http.Flusher).Flush()
		for {
			select {
			case e := <-events:
				if _, err := fmt.Fprintln(w, e); err != nil {
					ended <- err
					return
				}
			case <-r.Context().Done():
				ended <- r.Context().Err()
				return
			}
		}
	})
	resp, err := c.Get("https://x/watch")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("header %v", resp.Header)
	}
	lines := bufio.NewScanner(resp.Body)
	for _, e := range []string{"one", "two"} {
		events <- e
		if !lines.Scan() || lines.Text() != e {
			t.Fatalf("read %q, want %q (%v)", lines.Text(), e, lines.Err())
		}
	}
	resp.Body.Close()
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("handler ended without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler still runs after the body was closed")
	}
}

func TestPanicIsAnErrorNotACrash(t *testing.T) {
	_, err := client(func(http.ResponseWriter, *http.Request) { panic("boom") }).Get("https://x/")
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	// After the header, a panic cuts the body off.
	resp, err := client(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("part"))
		panic("late")
	}).Get("https://x/")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || !strings.Contains(err.Error(), "late") {
		t.Fatalf("body read err = %v", err)
	}
}

func TestContextCanceledBeforeHeader(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c := client(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://x/", nil)
	if _, err := c.Do(req); err == nil {
		t.Fatal("request outlived its context")
	}
}

// A watch asked by query streams as one asked by path; a plain GET is
// answered whole, with its length.
func TestWhichRequestsStream(t *testing.T) {
	release := make(chan struct{})
	c := client(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		if r.URL.Query().Get("watch") != "" || r.URL.Query().Get("follow") != "" {
			<-release
		}
	})
	for _, url := range []string{"https://x/api/v1/pods?watch=true", "https://x/api/v1/namespaces/a/pods/p/log?follow=true"} {
		resp, err := c.Get(url) // returns before the handler ends
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
			t.Fatalf("%s: read %q, %v", url, buf, err)
		}
		resp.Body.Close()
	}
	close(release)
	resp, err := c.Get("https://x/api/v1/pods?limit=5")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != 5 {
		t.Fatalf("content length %d, want 5", resp.ContentLength)
	}
	for _, c := range []struct {
		method, url string
		streams     bool
	}{
		{"GET", "https://x/api/v1/pods?watch=1", true},
		{"GET", "https://x/api/v1/watch/pods", true},
		{"GET", "https://x/api/v1/namespaces/a/services/s/proxy/", true},
		{"GET", "https://x/api/v1/pods", false},
		{"GET", "https://x/api/v1/pods?watch=false&allowWatchBookmarks=true", false},
		{"GET", "https://x/api/v1/namespaces/a/pods/p/log?follow=0", false},
		{"POST", "https://x/api/v1/namespaces/a/pods", false},
		{"PATCH", "https://x/api/v1/namespaces/a/pods/watch", false},
	} {
		req, _ := http.NewRequest(c.method, c.url, nil)
		if got := mayStream(req); got != c.streams {
			t.Errorf("%s %s: streams %v, want %v", c.method, c.url, got, c.streams)
		}
	}
}
