package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
{%- if cookiecutter.__opentelemetry == "True" %}

	"go.opentelemetry.io/otel/trace/noop"
{%- endif %}
)

// testServer returns newServer with the middleware the project's options
// add; tracing (if any) goes nowhere, metrics (if any) are not served.
func testServer(logger *slog.Logger, h *health) http.Handler {
	d := newDeps(logger)
	d.health = h
{%- if cookiecutter.__opentelemetry == "True" %}
	d.middleware = append(d.middleware, func(next http.Handler) http.Handler {
		return traceRequests(noop.NewTracerProvider(), next)
	})
{%- endif %}
{%- if cookiecutter.__prometheus_metrics == "True" %}
	addMetrics(&d, 0)
{%- endif %}
	return newServer(d)
}

// newTestServer serves newServer over real HTTP and returns it with its
// health state and the log it writes.
func newTestServer(t *testing.T) (*httptest.Server, *health, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h := &health{}
	srv := httptest.NewServer(testServer(newLogger(logs, slog.LevelInfo), h))
	t.Cleanup(srv.Close)
	return srv, h, logs
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	srv, _, _ := newTestServer(t)
	tests := []struct {
		name     string
		method   string
		path     string
		wantCode int
		wantBody string
	}{
		{"greeting", http.MethodGet, "/", http.StatusOK, `"name":"` + serviceName + `"`},
		{"liveness", http.MethodGet, "/livez", http.StatusOK, `{"status":"ok"}`},
		{"readiness", http.MethodGet, "/readyz", http.StatusOK, `{"status":"ok"}`},
		{"metrics only on the admin port", http.MethodGet, "/metrics", http.StatusNotFound, ""},
		{"unknown path", http.MethodGet, "/nope", http.StatusNotFound, ""},
		{"wrong method", http.MethodPost, "/", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := send(t, newRequest(t, tt.method, srv.URL+tt.path))
			if got.code != tt.wantCode {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, got.code, tt.wantCode)
			}
			if !strings.Contains(got.body, tt.wantBody) {
				t.Errorf("%s %s body = %q, want it to contain %q", tt.method, tt.path, got.body, tt.wantBody)
			}
		})
	}
}

func TestRequestsNoRouteTakesGetAProblem(t *testing.T) {
	t.Parallel()
	srv, _, _ := newTestServer(t)
	wantProblem(t, "GET /nope", send(t, newRequest(t, http.MethodGet, srv.URL+"/nope")), http.StatusNotFound, "")
	r := send(t, newRequest(t, http.MethodDelete, srv.URL+"/"))
	wantProblem(t, "DELETE /", r, http.StatusMethodNotAllowed, "")
	if got := r.header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("DELETE / Allow = %q, want %q", got, "GET, HEAD")
	}
	// ServeMux's redirect to the cleaned path is no error: it stays as it is.
	w := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/x/../nope", nil)
	testServer(newLogger(io.Discard, slog.LevelInfo), &health{}).ServeHTTP(w, req)
	if w.Code/100 != 3 || w.Header().Get("Location") != "/nope" {
		t.Errorf("GET /x/../nope = %d to %q, want a redirect to /nope", w.Code, w.Header().Get("Location"))
	}
}

func TestRootReturnsJSONGreeting(t *testing.T) {
	t.Parallel()
	srv, _, _ := newTestServer(t)
	r := send(t, newRequest(t, http.MethodGet, srv.URL+"/"))
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	var got greeting
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	if want := (greeting{Name: serviceName, Version: version}); got != want {
		t.Errorf("GET / = %+v, want %+v", got, want)
	}
}

func TestReadyzTurns503OnShutdown(t *testing.T) {
	t.Parallel()
	srv, h, _ := newTestServer(t)
	if code, _ := get(t, srv.URL+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before shutdown = %d, want %d", code, http.StatusOK)
	}
	h.startShutdown()
	if code, _ := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after shutdown began = %d, want %d", code, http.StatusServiceUnavailable)
	}
	if code, _ := get(t, srv.URL+"/livez"); code != http.StatusOK {
		t.Errorf("/livez after shutdown began = %d, want %d", code, http.StatusOK)
	}
}

func TestRequestsAreLogged(t *testing.T) {
	t.Parallel()
	srv, _, logs := newTestServer(t)
	get(t, srv.URL+"/nope")
	var entry struct {
		Msg        string          `json:"msg"`
		Method     string          `json:"method"`
		Path       string          `json:"path"`
		Status     int             `json:"status"`
		DurationMS json.RawMessage `json:"duration_ms"`
	}
	line, _, _ := strings.Cut(logs.String(), "\n")
	if err := json.Unmarshal([]byte(line), &entry); err != nil {
		t.Fatalf("log line %q is not JSON: %v", line, err)
	}
	if entry.Msg != "request" || entry.Method != http.MethodGet ||
		entry.Path != "/nope" || entry.Status != http.StatusNotFound {
		t.Errorf("log entry = %+v, want a request line for GET /nope with status 404", entry)
	}
	// duration_ms is a number of milliseconds, never a string or nanoseconds.
	var ms float64
	if err := json.Unmarshal(entry.DurationMS, &ms); err != nil || ms < 0 || ms > 60_000 {
		t.Errorf("duration_ms = %s, want a JSON number of milliseconds (%v)", entry.DurationMS, err)
	}
	if strings.Contains(line, `"duration":`) {
		t.Errorf("log line %q still has duration: want duration_ms only", line)
	}
}

func TestEachLogLineIsWrittenWholeInOneWrite(t *testing.T) {
	t.Parallel()
	srv, _, logs := newTestServer(t)
	const requests = 50
	var wg sync.WaitGroup
	for range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/nope", nil)
			if err != nil {
				t.Errorf("new request: %v", err)
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("GET /nope: %v", err)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	writes := logs.Writes()
	if len(writes) != requests {
		t.Fatalf("%d writes for %d requests, want one write per log line", len(writes), requests)
	}
	for _, w := range writes {
		if strings.Count(w, "\n") != 1 || !strings.HasSuffix(w, "\n") || !json.Valid([]byte(w)) {
			t.Errorf("write %q: want exactly one whole JSON line", w)
		}
	}
}

func TestProbesAreQuietAndOtherRequestsAreLogged(t *testing.T) {
	t.Parallel()
	srv, h, logs := newTestServer(t)
	get(t, srv.URL+"/livez")
	get(t, srv.URL+"/readyz")
	get(t, srv.URL+"/metrics")
	get(t, srv.URL+"/")
	h.startShutdown()
	get(t, srv.URL+"/readyz") // 503: not quiet
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var entry struct{ Msg, Path string }
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		paths = append(paths, entry.Path)
	}
	if got, want := strings.Join(paths, " "), "/ /readyz"; got != want {
		t.Errorf("info log lines for paths %q, want %q", got, want)
	}
}

func TestNewServerAnswersAPanicWith500AndKeepsServing(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	// Without its health state, /readyz dereferences a nil pointer: a bug in
	// a handler, caught by the middleware that newServer itself wires.
	srv := httptest.NewServer(testServer(newLogger(logs, slog.LevelInfo), nil))
	t.Cleanup(srv.Close)

	r := send(t, newRequest(t, http.MethodGet, srv.URL+"/readyz"))
	wantProblem(t, "GET /readyz with a panicking handler", r, http.StatusInternalServerError, "")
	if code, _ := get(t, srv.URL+"/livez"); code != http.StatusOK {
		t.Errorf("GET /livez after a panic = %d, want %d", code, http.StatusOK)
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"panic"`) || !strings.Contains(out, "nil pointer dereference") {
		t.Errorf("panic not logged; log was:\n%s", out)
	}
	if !strings.Contains(out, `"path":"/readyz","status":500`) {
		t.Errorf("the 500 on a probe path was not logged; log was:\n%s", out)
	}
}

func TestRequestBodiesAreLimited(t *testing.T) {
	t.Parallel()
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(limitRequestBodies(read))
	t.Cleanup(srv.Close)
	tests := []struct {
		name string
		size int
		want int
	}{
		{"at the limit", maxRequestBodyBytes, http.StatusNoContent},
		{"over the limit", maxRequestBodyBytes + 1, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := bytes.NewReader(make([]byte, tt.size))
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, body)
			if err != nil {
				t.Fatalf("new request: %v", err)
			}
			if got := send(t, req).code; got != tt.want {
				t.Errorf("POST of %d bytes = %d, want %d", tt.size, got, tt.want)
			}
		})
	}
}

func TestHTTPServerSetsEveryTimeoutAndLimit(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(http.NotFoundHandler(), newLogger(io.Discard, slog.LevelInfo))
	settings := map[string]int64{
		"ReadHeaderTimeout": int64(srv.ReadHeaderTimeout),
		"ReadTimeout":       int64(srv.ReadTimeout),
		"WriteTimeout":      int64(srv.WriteTimeout),
		"IdleTimeout":       int64(srv.IdleTimeout),
		"MaxHeaderBytes":    int64(srv.MaxHeaderBytes),
	}
	for name, value := range settings {
		if value <= 0 {
			t.Errorf("http.Server.%s is not set", name)
		}
	}
	if srv.ReadHeaderTimeout > 10*time.Second {
		t.Errorf("ReadHeaderTimeout = %v, want at most 10s against slow-header clients", srv.ReadHeaderTimeout)
	}
	if srv.ErrorLog == nil {
		t.Error("http.Server.ErrorLog is not set: the server's own errors would bypass the JSON log")
	}
}

func TestServeCompletesInFlightRequestOnShutdown(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		w.WriteHeader(http.StatusOK)
	})
	cfg := config{Port: freePort(t), ShutdownTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	d := newDeps(newLogger(io.Discard, slog.LevelInfo))
	d.routes = map[string]http.Handler{"/": slow}
	go func() { served <- serve(ctx, cfg, d) }()

	url := "http://127.0.0.1:" + strconv.Itoa(cfg.Port) + "/"
	answered := make(chan int, 1)
	go func() {
		var resp *http.Response
		var err error
		for range 100 { // the listener may not be open yet
			if resp, err = http.DefaultClient.Do(newRequest(t, http.MethodGet, url)); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()

	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("request never reached the handler")
	}
	cancel()
	select {
	case err := <-served:
		t.Fatalf("serve returned %v with a request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if code := <-answered; code != http.StatusOK {
		t.Errorf("in-flight request answered %d, want %d", code, http.StatusOK)
	}
	if err := <-served; err != nil {
		t.Errorf("serve returned %v, want nil", err)
	}
}

func TestServeListensOnTheListenAddressOnly(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	cfg := config{ListenAddress: "127.0.0.1", Port: freePort(t), ShutdownTimeout: 5 * time.Second}
	d := newDeps(newLogger(logs, slog.LevelInfo))
	admin := freePort(t)
	d.listeners = append(d.listeners, listener{name: "admin", port: admin, handler: http.NotFoundHandler()})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, cfg, d) }()

	want := map[string]string{
		"http":  "127.0.0.1:" + strconv.Itoa(cfg.Port),
		"admin": "127.0.0.1:" + strconv.Itoa(admin),
	}
	got := map[string]string{}
	for deadline := time.Now().Add(5 * time.Second); len(got) < len(want) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var entry struct{ Msg, Listener, Addr string }
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" {
				got[entry.Listener] = entry.Addr
			}
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("serve returned %v, want nil", err)
	}
	for name, addr := range want {
		if got[name] != addr {
			t.Errorf("the %s listener is on %q, want %q (LISTEN_ADDRESS for every listener)", name, got[name], addr)
		}
	}
}
