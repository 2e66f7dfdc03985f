package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"{{ cookiecutter.module_path }}/internal/problem"
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

// wantProblem checks that r is a problem (RFC 9457) with status code that
// names field: a parameter's name or a JSON Pointer ("" for none).
func wantProblem(t *testing.T, what string, r reply, code int, field string) {
	t.Helper()
	if r.code != code || r.header.Get("Content-Type") != problem.ContentType {
		t.Errorf("%s = %d %s %s, want %d %s", what, r.code, r.header.Get("Content-Type"), r.body, code, problem.ContentType)
		return
	}
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options = %q, want nosniff", what, got)
	}
	var p problem.Details
	err := json.Unmarshal([]byte(r.body), &p)
	if err != nil || p.Type != "about:blank" || p.Status != code || p.Title != http.StatusText(code) {
		t.Errorf("%s = %s (%v), want a problem of type about:blank with status %d and its title", what, r.body, err, code)
	}
	if field != "" && !namesField(p, field) {
		t.Errorf("%s = %s, want a problem that names %s and says why", what, r.body, field)
	}
}

// namesField tells whether p has an error about field, a parameter's name
// or a JSON Pointer, and says why.
func namesField(p problem.Details, field string) bool {
	for _, e := range p.Errors {
		if e.Detail != "" && (e.Parameter == field || e.Pointer == field) {
			return true
		}
	}
	return false
}
