package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer that the server's goroutines and the test
// can use at the same time. It keeps each write it gets apart, too.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes []string
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes = append(b.writes, string(p))
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Writes returns what each write carried, in order.
func (b *syncBuffer) Writes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.writes...)
}

// noEnv is a getenv for an empty environment.
func noEnv(string) string { return "" }

// newRequest returns a request for method and url, without a body.
func newRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, url, err)
	}
	return req
}

// reply is what a request got back.
type reply struct {
	code   int
	header http.Header
	body   string
}

// send sends req and returns the reply with its whole body.
func send(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s %s: %v", req.Method, req.URL, err)
	}
	return reply{code: resp.StatusCode, header: resp.Header, body: string(body)}
}

// get performs GET url and returns the status code and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	r := send(t, newRequest(t, http.MethodGet, url))
	return r.code, r.body
}

// freePort asks the kernel for a port that is free right now.
func freePort(t *testing.T) int {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
