// Command httpecho is the pod workload of skiffbench's traffic benchmark:
// an HTTP server on $POD_IP:$PORT (PORT defaults to 8080) that answers
// every request with $POD_NAME, so that the benchmark can tell which pod
// a request through a Service reached. It serves on loopback addresses
// only (skiff's pods in host network mode get one each) and stops on
// SIGTERM.
package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "httpecho:", err)
		os.Exit(1)
	}
}

func run() error {
	ip, err := netip.ParseAddr(os.Getenv("POD_IP"))
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("POD_IP %q: want a loopback address", os.Getenv("POD_IP"))
	}
	name := os.Getenv("POD_NAME")
	if name == "" {
		name, _ = os.Hostname()
	}
	addr := net.JoinHostPort(ip.String(), cmp.Or(os.Getenv("PORT"), "8080"))
	srv := &http.Server{
		Addr:              addr,
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, name)
		}),
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}
