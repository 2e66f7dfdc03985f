package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// health tracks whether the service should still receive new traffic.
type health struct {
	shuttingDown atomic.Bool
{%- if cookiecutter.database == "postgres" %}
	// database, when set, must answer a ping for /readyz to answer 200.
	database pinger
{%- endif %}
}
{%- if cookiecutter.database == "postgres" %}

// pinger is what readiness needs of the database pool.
type pinger interface {
	Ping(ctx context.Context) error
}
{%- endif %}

// startShutdown makes /readyz fail from now on.
func (h *health) startShutdown() { h.shuttingDown.Store(true) }

// status is the body of the health endpoints.
type status struct {
	Status string `json:"status"`
}

// handleLivez answers 200 while the process is able to serve requests.
func handleLivez(logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond(w, r, logger, http.StatusOK, status{Status: "ok"})
	})
}
{%- if cookiecutter.database == "postgres" %}

// handleReadyz answers 200 while the database answers a ping within
// readyPingTimeout, and 503 otherwise, so that no traffic reaches an
// instance that cannot serve it; the pod is not restarted (that is /livez's
// job), it comes back as soon as the database does. From the start of
// shutdown it answers 503, so that load balancers stop sending new requests
// while in-flight ones finish.
{%- else %}

// handleReadyz answers 200 until shutdown begins, then 503 so that load
// balancers stop sending new requests while in-flight ones finish.
{%- endif %}
func handleReadyz(logger *slog.Logger, h *health) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, body := http.StatusOK, status{Status: "ok"}
		if h.shuttingDown.Load() {
			code, body = http.StatusServiceUnavailable, status{Status: "shutting down"}
{%- if cookiecutter.database == "postgres" %}
		} else if err := h.pingDatabase(r.Context()); err != nil {
			logger.WarnContext(r.Context(), "database not ready", "err", redact(err.Error()))
			code, body = http.StatusServiceUnavailable, status{Status: "database unavailable"}
{%- endif %}
		}
		respond(w, r, logger, code, body)
	})
}
{%- if cookiecutter.database == "postgres" %}

// pingDatabase asks the database for an answer within readyPingTimeout; with
// no database set it answers nil.
func (h *health) pingDatabase(ctx context.Context) error {
	if h.database == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, readyPingTimeout)
	defer cancel()
	return h.database.Ping(ctx)
}
{%- endif %}

// probe asks the service listening on localhost:port for /livez and returns
// an error unless it answers 200. It backs the -healthcheck flag, so that a
// container HEALTHCHECK needs no shell or curl in the image.
func probe(ctx context.Context, port int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/livez"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}
