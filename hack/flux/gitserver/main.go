// Command gitserver serves the Git repositories under a directory over smart
// HTTP (read-only: clone and fetch), on loopback, by running `git http-backend`
// as a CGI program. It is what Flux's source-controller (go-git) clones from in
// tests/e2e/flux.rs. Standard library only.
//
//	gitserver -root DIR [-listen 127.0.0.1:0] [-basic-auth USER:PASSWORD] [-tls-ca-out FILE] [-exit-on-stdin-eof]
//
// With -tls-ca-out FILE it serves HTTPS with a certificate for the loopback
// address from a fresh certificate authority made at start, whose certificate
// it writes (PEM) to FILE for clients to trust.
//
// With -basic-auth USER:PASSWORD every request must carry those HTTP basic
// credentials (401 otherwise), as a private repository on a Git host would.
//
// Once listening it prints "LISTENING http://HOST:PORT" on stdout; a repository
// DIR/foo.git (or DIR/foo with a .git directory) is then at http://HOST:PORT/foo.git.
// It exits when stdin is closed (so it never outlives the process that started
// it with a pipe), on SIGTERM/SIGINT, or when killed.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
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
	tlsCAOut := flag.String("tls-ca-out", "", "serve HTTPS; write the certificate authority (PEM) to this file")
	basicAuth := flag.String("basic-auth", "", "USER:PASSWORD required on every request (HTTP basic); empty: none")
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
	wantUser, wantPassword, requireAuth := strings.Cut(*basicAuth, ":")
	if *basicAuth != "" && !requireAuth {
		log.Fatal("-basic-auth wants USER:PASSWORD")
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if requireAuth {
			user, password, ok := r.BasicAuth()
			if !ok || user != wantUser || password != wantPassword {
				w.Header().Set("WWW-Authenticate", `Basic realm="gitserver"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				log.Printf("%s %s -> 401", r.Method, r.URL.Path)
				return
			}
		}
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
	scheme := "http"
	if *tlsCAOut != "" {
		config, caPEM, err := loopbackTLS()
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(*tlsCAOut, caPEM, 0o644); err != nil {
			log.Fatal(err)
		}
		ln = tls.NewListener(ln, config)
		scheme = "https"
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("LISTENING %s://%s\n", scheme, ln.Addr())
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

// loopbackTLS makes a certificate authority and, signed by it, a server
// certificate for 127.0.0.1, ::1 and localhost (a CA certificate cannot serve
// as the server's own: TLS clients such as rustls reject that). Valid for a day.
func loopbackTLS() (*tls.Config, []byte, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gitserver test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	config := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	}
	return config, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}
