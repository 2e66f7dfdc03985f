package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// service is an instance of the whole program started through run.
type service struct {
	baseURL string
	stop    context.CancelFunc
	done    chan struct{}
	err     error       // run's result, set before done is closed
	stdout  *syncBuffer // what run logged
{%- if cookiecutter.__prometheus_metrics == "True" %}

	metricsURL string // the admin listener's
{%- endif %}
}

// startService runs the service on free ports with the given extra
// environment and waits until /readyz answers 200.
func startService(t *testing.T, env map[string]string) *service {
	t.Helper()
	s := launchService(t, env)
	s.waitReady(t)
	return s
}

// launchService runs the service on free ports with the given extra
// environment{% if cookiecutter.database == "postgres" %} (DATABASE_URL: a migrated schema of the test's own,
// unless env sets it){% endif %}, and returns at once.
func launchService(t *testing.T, env map[string]string) *service {
	t.Helper()
	port := strconv.Itoa(freePort(t))
	base := map[string]string{"PORT": port}
{%- if cookiecutter.database == "postgres" %}
	if _, ok := env["DATABASE_URL"]; !ok {
		base["DATABASE_URL"] = migratedDatabaseURL(t)
	}
	// The test server may be a local one without TLS (TEST_DATABASE_URL).
	base["DATABASE_ALLOW_UNVERIFIED"] = "true"
{%- endif %}
{%- if cookiecutter.__prometheus_metrics == "True" %}
	base["METRICS_PORT"] = strconv.Itoa(freePort(t))
{%- endif %}
{%- if cookiecutter.__opentelemetry == "True" %}
	// Tracing is tested on its own (tracing_test.go); without a collector,
	// spans left at shutdown would hold it for all of SHUTDOWN_TIMEOUT.
	base["OTEL_SDK_DISABLED"] = "true"
{%- endif %}
	getenv := func(key string) string {
		if v, ok := env[key]; ok {
			return v
		}
		return base[key]
	}
	ctx, cancel := context.WithCancel(context.Background())
	// stop closes the client's idle connections first, as a client that is done does: the
	// server's Shutdown waits up to 5s for a connection that never sent a request, and Go 1.27's
	// client can leave one such connection in its pool.
	stop := func() {
		http.DefaultClient.CloseIdleConnections()
		cancel()
	}
	s := &service{baseURL: "http://127.0.0.1:" + port, stop: stop, done: make(chan struct{}), stdout: &syncBuffer{}}
{%- if cookiecutter.__prometheus_metrics == "True" %}
	s.metricsURL = "http://127.0.0.1:" + base["METRICS_PORT"]
{%- endif %}
	go func() {
		s.err = run(ctx, []string{"service"}, getenv, s.stdout, io.Discard)
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// waitReady polls /readyz until it answers 200, failing the test if run
// returns first or nothing answers within five seconds.
func (s *service) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			t.Fatalf("run returned before the service was ready: %v", s.err)
		default:
		}
		resp, err := http.DefaultClient.Do(newRequest(t, http.MethodGet, s.baseURL+"/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("service not ready at %s after 5s", s.baseURL)
}

// wait waits for run to return and gives its error.
func (s *service) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(within):
		t.Fatalf("run did not return within %v", within)
		return nil
	}
}

// statusCode returns the status code of GET url.
func statusCode(t *testing.T, url string) int {
	t.Helper()
	code, _ := get(t, url)
	return code
}

func TestRunServesUntilCancelled(t *testing.T) {
	t.Parallel()
	svc := startService(t, nil)

	if got := statusCode(t, svc.baseURL+"/"); got != http.StatusOK {
		t.Errorf("GET / = %d, want %d", got, http.StatusOK)
	}
	svc.stop()
	if err := svc.wait(t, 5*time.Second); err != nil {
		t.Errorf("run returned %v, want nil", err)
	}
}

func TestRunWritesEveryLogLineBeforeReturning(t *testing.T) {
	t.Parallel()
	svc := startService(t, nil)
	for range 100 {
		get(t, svc.baseURL+"/")
	}
	svc.stop()
	if err := svc.wait(t, 5*time.Second); err != nil {
		t.Fatalf("run returned %v, want nil", err)
	}
	// No waiting: each line was written when it was logged.
	lines := strings.Split(strings.TrimSpace(svc.stdout.String()), "\n")
	requests := 0
	for _, line := range lines {
		var entry struct{ Msg, Path string }
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if entry.Msg == "request" && entry.Path == "/" {
			requests++
		}
	}
	if requests != 100 {
		t.Errorf("%d request lines for 100 requests", requests)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, `"msg":"stopped"`) {
		t.Errorf("last log line = %s, want the stopped line", last)
	}
}
{%- if cookiecutter.__prometheus_metrics == "True" %}

func TestRunServesMetricsOnTheAdminPortOnly(t *testing.T) {
	t.Parallel()
	svc := startService(t, nil)
	code, body := get(t, svc.metricsURL+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics on METRICS_PORT = %d with %d bytes, want 200 with go_goroutines", code, len(body))
	}
	if code := statusCode(t, svc.baseURL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on PORT = %d, want %d", code, http.StatusNotFound)
	}
	wantProblem(t, "GET /nope on METRICS_PORT", send(t, newRequest(t, http.MethodGet, svc.metricsURL+"/nope")),
		http.StatusNotFound, "")
}
{%- endif %}

func TestRunReadyzFailsDuringShutdownDelay(t *testing.T) {
	t.Parallel()
	svc := startService(t, map[string]string{"SHUTDOWN_DELAY": "500ms"})

	svc.stop()
	waitUntilNotReady(t, svc)
	if got := statusCode(t, svc.baseURL+"/"); got != http.StatusOK {
		t.Errorf("GET / during shutdown delay = %d, want %d", got, http.StatusOK)
	}
	if err := svc.wait(t, 5*time.Second); err != nil {
		t.Errorf("run returned %v, want nil", err)
	}
}

// waitUntilNotReady waits until /readyz answers 503, as it does as soon as
// shutdown begins.
func waitUntilNotReady(t *testing.T, svc *service) {
	t.Helper()
	deadline := time.Now().Add(400 * time.Millisecond)
	for statusCode(t, svc.baseURL+"/readyz") != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("/readyz still 200 after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunClosesEachConnectionAfterItsAnswerOnceShutdownBegins(t *testing.T) {
	t.Parallel()
	svc := startService(t, map[string]string{"SHUTDOWN_DELAY": "2s"})
	addr := strings.TrimPrefix(svc.baseURL, "http://")
	pinned := dial(t, addr)
	if a := pinned.get(t); a.close {
		t.Fatal("answer before shutdown carries Connection: close, want the connection kept alive")
	}

	svc.stop()
	waitUntilNotReady(t, svc)
	// Within the 2s delay, on the connection kept from before and on a new
	// one: a 200 with Connection: close, then the server closes the connection.
	for name, conn := range map[string]connection{"kept-alive": pinned, "new": dial(t, addr)} {
		if a := conn.get(t); a.status != http.StatusOK || !a.close {
			t.Errorf("GET / on a %s connection during the delay = %d, Connection: close %t; want 200 and true",
				name, a.status, a.close)
		}
		if err := conn.readUntilClosed(time.Second); err != nil {
			t.Errorf("%s connection after its answer during the delay: %v", name, err)
		}
	}
	if err := svc.wait(t, 5*time.Second); err != nil {
		t.Errorf("run returned %v, want nil", err)
	}
}

// connection is a client's TCP connection to the service, and what it has
// read ahead.
type connection struct {
	net.Conn
	r *bufio.Reader
}

// dial opens a TCP connection to addr, closed when the test ends.
func dial(t *testing.T, addr string) connection {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return connection{c, bufio.NewReader(c)}
}

// answer is what a test reads of a response: its status, and whether it
// asks to close the connection (Connection: close).
type answer struct {
	status int
	close  bool
}

// get sends GET / over HTTP/1.1, which asks to keep the connection alive,
// reads the whole answer and returns its status and Connection: close.
func (c connection) get(t *testing.T) answer {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", c.RemoteAddr()); err != nil {
		t.Fatalf("send GET /: %v", err)
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("read the answer to GET /: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("read the body of GET /: %v", err)
	}
	return answer{status: resp.StatusCode, close: resp.Close}
}

// readUntilClosed returns nil once the server closes the connection, or an
// error if it sends more or keeps the connection open for longer than wait.
func (c connection) readUntilClosed(wait time.Duration) error {
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return err
	}
	b, err := c.r.ReadByte()
	switch {
	case err == nil:
		return fmt.Errorf("got %q, want the connection closed", b)
	case errors.Is(err, io.EOF):
		return nil
	default:
		return fmt.Errorf("want the connection closed within %s: %w", wait, err)
	}
}

func TestRunRejectsInvalidConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, value string
	}{
		{"listen address not an IP address", "LISTEN_ADDRESS", "localhost"},
		{"listen address with a port", "LISTEN_ADDRESS", "127.0.0.1:8080"},
		{"port not a number", "PORT", "http"},
		{"port zero", "PORT", "0"},
		{"port too large", "PORT", "65536"},
		{"unknown log level", "LOG_LEVEL", "loud"},
		{"negative shutdown delay", "SHUTDOWN_DELAY", "-1s"},
		{"shutdown delay without unit", "SHUTDOWN_DELAY", "5"},
		{"zero shutdown timeout", "SHUTDOWN_TIMEOUT", "0s"},
{%- if cookiecutter.__prometheus_metrics == "True" %}
		{"metrics port not a number", "METRICS_PORT", "metrics"},
		{"metrics port equal to port", "METRICS_PORT", strconv.Itoa(defaultPort)},
{%- endif %}
{%- if cookiecutter.database == "postgres" %}
		{"database url with a bad port", "DATABASE_URL", "postgres://app:s3cret@db:port/app"},
		{"database url of another scheme", "DATABASE_URL", "mysql://app:s3cret@db/app"},
		{"database url without TLS", "DATABASE_URL", "postgres://app:s3cret@db/app?sslmode=disable"},
		{"database url that falls back to plain text", "DATABASE_URL", "postgres://app:s3cret@db/app?sslmode=prefer"},
		{"database url that trusts any certificate", "DATABASE_URL", "postgres://app:s3cret@db/app?sslmode=require"},
		{"allow unverified not a boolean", "DATABASE_ALLOW_UNVERIFIED", "sometimes"},
{%- endif %}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(key string) string {
				if key == tt.key {
					return tt.value
				}
				return ""
			}
			err := run(context.Background(), []string{"service"}, getenv, io.Discard, io.Discard)
			if !errors.Is(err, errConfig) {
				t.Fatalf("run with %s=%q returned %v, want a configuration error", tt.key, tt.value, err)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %s", err, tt.key)
			}
{%- if cookiecutter.database == "postgres" %}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q shows the password or takes more than one line", err)
			}
{%- endif %}
			if got := exitCode(err); got != 2 {
				t.Errorf("exit code = %d, want 2", got)
			}
		})
	}
}

func TestRunRejectsUnknownFlag(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"service", "-nope"}, noEnv, io.Discard, io.Discard)
	if got := exitCode(err); got != 2 {
		t.Errorf("exit code for an unknown flag = %d (err %v), want 2", got, err)
	}
}

func TestRunPrintsVersion(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"service", "-version"}, noEnv, &stdout, io.Discard)
	if err != nil {
		t.Fatalf("run -version: %v", err)
	}
	if got, want := stdout.String(), version+"\n"; got != want {
		t.Errorf("run -version printed %q, want %q", got, want)
	}
}

func TestRunHealthcheck(t *testing.T) {
	t.Parallel()
	svc := startService(t, nil)
	port := strings.TrimPrefix(svc.baseURL, "http://127.0.0.1:")
	healthcheck := func(port string) error {
		getenv := func(key string) string {
			if key == "PORT" {
				return port
			}
			return ""
		}
		return run(context.Background(), []string{"service", "-healthcheck"}, getenv, io.Discard, io.Discard)
	}

	if err := healthcheck(port); err != nil {
		t.Errorf("healthcheck of a running service: %v, want nil", err)
	}
	if err := healthcheck(fmt.Sprint(freePort(t))); err == nil {
		t.Error("healthcheck of a port nobody listens on succeeded, want an error")
	} else if got := exitCode(err); got != 1 {
		t.Errorf("healthcheck failure exit code = %d, want 1", got)
	}
}

func TestRunFailsWhenPortIsTaken(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", ":0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
{%- if cookiecutter.database == "postgres" %}
	database := unreachableDatabaseURL(t)
{%- endif %}
	getenv := func(key string) string {
		if key == "PORT" {
			return port
		}
{%- if cookiecutter.database == "postgres" %}
		switch key {
		case "DATABASE_URL":
			return database
		case "DATABASE_ALLOW_UNVERIFIED":
			return "true"
		}
{%- endif %}
		return ""
	}
	err = run(context.Background(), []string{"service"}, getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("run on a taken port returned %v, want a listen error", err)
	}
}
