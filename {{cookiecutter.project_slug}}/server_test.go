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
)

// syncBuffer is a bytes.Buffer that the server's goroutines and the test
// can use at the same time.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestServer serves newServer over real HTTP and returns it with its
// health state and the log it writes.
func newTestServer(t *testing.T) (*httptest.Server, *health, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h := &health{}
{%- if cookiecutter.__prometheus_metrics == "True" %}
	srv := httptest.NewServer(newServer(newLogger(logs, slog.LevelDebug), h, newMetrics()))
{%- else %}
	srv := httptest.NewServer(newServer(newLogger(logs, slog.LevelDebug), h))
{%- endif %}
	t.Cleanup(srv.Close)
	return srv, h, logs
}

// get performs GET url and returns the status code and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
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
{%- if cookiecutter.__prometheus_metrics == "True" %}
		{"metrics", http.MethodGet, "/metrics", http.StatusOK, "go_goroutines"},
{%- endif %}
		{"unknown path", http.MethodGet, "/nope", http.StatusNotFound, ""},
		{"wrong method", http.MethodPost, "/", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatalf("new request: %v", err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.path, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tt.wantCode {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.wantCode)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("%s %s body = %q, want it to contain %q", tt.method, tt.path, body, tt.wantBody)
			}
		})
	}
}

func TestRootReturnsJSONGreeting(t *testing.T) {
	t.Parallel()
	srv, _, _ := newTestServer(t)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatalf("GET /: %v", err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	var got greeting
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("decode: %v", err)
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
		Msg    string `json:"msg"`
		Method string `json:"method"`
		Path   string `json:"path"`
		Status int    `json:"status"`
	}
	line, _, _ := strings.Cut(logs.String(), "\n")
	if err := json.Unmarshal([]byte(line), &entry); err != nil {
		t.Fatalf("log line %q is not JSON: %v", line, err)
	}
	if entry.Msg != "request" || entry.Method != http.MethodGet || entry.Path != "/nope" || entry.Status != http.StatusNotFound {
		t.Errorf("log entry = %+v, want a request line for GET /nope with status 404", entry)
	}
}

func TestRecoverPanicsAnswers500AndKeepsServing(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	logger := newLogger(logs, slog.LevelInfo)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewServer(logRequests(logger, recoverPanics(logger, mux)))
	t.Cleanup(srv.Close)

	if code, _ := get(t, srv.URL+"/panic"); code != http.StatusInternalServerError {
		t.Errorf("GET /panic = %d, want %d", code, http.StatusInternalServerError)
	}
	if code, _ := get(t, srv.URL+"/ok"); code != http.StatusNoContent {
		t.Errorf("GET /ok after a panic = %d, want %d", code, http.StatusNoContent)
	}
	if !strings.Contains(logs.String(), `"value":"boom"`) {
		t.Errorf("panic not logged; log was:\n%s", logs)
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
	go func() { served <- serve(ctx, cfg, newLogger(io.Discard, slog.LevelInfo), slow, &health{}) }()

	url := "http://127.0.0.1:" + strconv.Itoa(cfg.Port) + "/"
	answered := make(chan int, 1)
	go func() {
		var resp *http.Response
		var err error
		for range 100 { // the listener may not be open yet
			if resp, err = http.Get(url); err == nil {
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
