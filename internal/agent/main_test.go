package agent_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestMain doubles as the workload of test pods: with SKIFF_TEST_WORKLOAD
// set, the test binary runs that workload instead of the tests, so tests
// need nothing from /bin.
func TestMain(m *testing.M) {
	// As an exec probe: succeed if the file exists.
	if len(os.Args) == 3 && os.Args[1] == "--probe-file" {
		if _, err := os.Stat(os.Args[2]); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// As a hook: append a line to a file, or fail.
	if len(os.Args) == 4 && os.Args[1] == "--append" {
		if err := appendLine(os.Args[2], os.Args[3]); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) == 2 && os.Args[1] == "--fail" {
		fmt.Println("failing on purpose")
		os.Exit(1)
	}
	if w := os.Getenv("SKIFF_TEST_WORKLOAD"); w != "" {
		os.Exit(workload(w))
	}
	os.Exit(m.Run())
}

func workload(name string) int {
	switch name {
	case "http-server":
		addr := net.JoinHostPort(os.Getenv("POD_IP"), os.Getenv("PORT"))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			return 1
		}
		fmt.Println("listening on", addr)
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Println("request", r.URL.Path)
			fmt.Fprintf(w, "hello from %s\n", os.Getenv("POD_NAME"))
		})
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {})
		mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
		http.Serve(l, mux)
		return 1
	case "echo":
		// Prints its arguments and the variables named in ECHO_VARS.
		for _, a := range os.Args[1:] {
			fmt.Println("arg", a)
		}
		for _, v := range strings.Split(os.Getenv("ECHO_VARS"), ",") {
			fmt.Printf("env %s=%s\n", v, os.Getenv(v))
		}
		return 0
	case "exit":
		fmt.Println("exiting with", os.Getenv("EXIT_CODE"))
		fmt.Fprintln(os.Stderr, "to stderr")
		code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
		return code
	case "files":
		// Prints mode and content of each file in FILES (symlinks followed).
		for _, p := range strings.Split(os.Getenv("FILES"), ",") {
			fi, err := os.Stat(p)
			if err != nil {
				fmt.Printf("file %s error %v\n", p, err)
				continue
			}
			b, _ := os.ReadFile(p)
			fmt.Printf("file %s %o %q\n", p, fi.Mode().Perm(), b)
		}
		return 0
	case "watch-file":
		// Prints the content of WATCH_FILE whenever it changes.
		last := "\x00none"
		for {
			b, err := os.ReadFile(os.Getenv("WATCH_FILE"))
			if err == nil && string(b) != last {
				last = string(b)
				fmt.Printf("content %q\n", b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	case "write-file":
		if err := os.WriteFile(os.Getenv("WRITE_FILE"), []byte(os.Getenv("WRITE_DATA")), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			return 1
		}
		fmt.Println("wrote", os.Getenv("WRITE_FILE"))
		time.Sleep(time.Hour)
		return 0
	case "grpc-health":
		// A gRPC health service on $POD_IP:$PORT answering GRPC_STATUS
		// (SERVING or NOT_SERVING) for the default service.
		addr := net.JoinHostPort(os.Getenv("POD_IP"), os.Getenv("PORT"))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			return 1
		}
		srv := grpc.NewServer()
		hs := health.NewServer()
		hs.SetServingStatus("", healthpb.HealthCheckResponse_ServingStatus(healthpb.HealthCheckResponse_ServingStatus_value[os.Getenv("GRPC_STATUS")]))
		healthpb.RegisterHealthServer(srv, hs)
		fmt.Println("serving gRPC health on", addr)
		_ = srv.Serve(l)
		return 1
	case "alloc":
		// Allocates and touches ALLOC_MIB MiB, then sleeps.
		n, _ := strconv.Atoi(os.Getenv("ALLOC_MIB"))
		var keep [][]byte
		for i := 0; i < n; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep), "MiB")
		time.Sleep(time.Hour)
		return 0
	case "sleep":
		fmt.Println("sleeping")
		time.Sleep(time.Hour)
		return 0
	case "record-term":
		// Appends "sigterm" to TERM_FILE when SIGTERM comes, then exits.
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		fmt.Println("waiting for SIGTERM")
		<-ch
		if err := appendLine(os.Getenv("TERM_FILE"), "sigterm"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		time.Sleep(time.Hour)
		return 0
	}
	if code, ok := attachWorkload(name); ok {
		return code
	}
	fmt.Fprintln(os.Stderr, "unknown workload", name)
	return 2
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
