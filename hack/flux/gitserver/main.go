// Command gitserver serves the Git repositories under a directory over smart
// HTTP (read-only: clone and fetch), on loopback, by running `git http-backend`
// as a CGI program. It is what Flux's source-controller (go-git) clones from in
// tests/e2e/flux.rs. Standard library only.
//
//	gitserver -root DIR [-listen 127.0.0.1:0]
//
// Once listening it prints "LISTENING http://HOST:PORT" on stdout; a repository
// DIR/foo.git (or DIR/foo with a .git directory) is then at http://HOST:PORT/foo.git.
// It exits when stdin is closed (so it never outlives the process that started
// it with a pipe), on SIGTERM/SIGINT, or when killed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	root := flag.String("root", "", "directory holding the repositories (GIT_PROJECT_ROOT)")
	listen := flag.String("listen", "127.0.0.1:0", "listen address; loopback only")
	watchStdin := flag.Bool("exit-on-stdin-eof", false, "exit when stdin reaches EOF")
	flag.Parse()
	if *root == "" {
		log.Fatal("-root is required")
	}
	absRoot, err := filepath.Abs(*root)
	if err != nil {
		log.Fatal(err)
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		log.Fatal(err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		log.Fatalf("refusing to listen on %q: loopback only", *listen)
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		log.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + absRoot,
			"GIT_HTTP_EXPORT_ALL=1",
			// Serve repositories owned by another user too (tests run as anyone).
			"GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=safe.directory",
			"GIT_CONFIG_VALUE_0=*",
		},
		Stderr: os.Stderr,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Read-only: receive-pack (push) is refused.
		if strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack" {
			http.Error(w, "read-only", http.StatusForbidden)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		backend.ServeHTTP(rec, r)
		log.Printf("%s %s?%s -> %d (%s)", r.Method, r.URL.Path, r.URL.RawQuery, rec.status, time.Since(start).Round(time.Millisecond))
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("LISTENING http://%s\n", ln.Addr())
	os.Stdout.Sync()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Flush keeps streaming responses (pack data) flowing.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
