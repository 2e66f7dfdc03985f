package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
)

// readyCheckTimeout bounds each readiness check of /readyz, under the
// probes' own timeout.
const readyCheckTimeout = time.Second

// health tracks whether the service should still receive new traffic.
type health struct {
	shuttingDown atomic.Bool
	// checks must all pass for /readyz to answer 200: what the service
	// cannot serve without (a database, say), each option adding its own.
	checks []readinessCheck
}

// readinessCheck is one dependency /readyz asks about.
type readinessCheck struct {
	name  string                          // in the log and the body: "database unavailable"
	check func(ctx context.Context) error // nil when the dependency answers
}

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

// handleReadyz answers 200 while every readiness check passes within
// readyCheckTimeout, and 503 otherwise, so that no traffic reaches an
// instance that cannot serve it; the pod is not restarted (that is /livez's
// job), it comes back as soon as what it needs does. From the start of
// shutdown it answers 503, so that load balancers stop sending new requests
// while in-flight ones finish.
func handleReadyz(logger *slog.Logger, h *health) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, body := http.StatusOK, status{Status: "ok"}
		if h.shuttingDown.Load() {
			code, body = http.StatusServiceUnavailable, status{Status: "shutting down"}
		} else if name, err := h.firstFailure(r.Context()); err != nil {
			logger.WarnContext(r.Context(), "not ready", "check", name, "err", err)
			code, body = http.StatusServiceUnavailable, status{Status: name + " unavailable"}
		}
		respond(w, r, logger, code, body)
	})
}

// firstFailure runs the checks in order and returns the name and error of
// the first that fails, each given readyCheckTimeout.
func (h *health) firstFailure(ctx context.Context) (string, error) {
	for _, c := range h.checks {
		checkCtx, cancel := context.WithTimeout(ctx, readyCheckTimeout)
		err := c.check(checkCtx)
		cancel()
		if err != nil {
			return c.name, err
		}
	}
	return "", nil
}

// probe asks the service listening on address:port for /livez (127.0.0.1
// when address is empty or every interface's) and returns an error unless it
// answers 200. It backs the -healthcheck flag, so that a container
// HEALTHCHECK needs no shell or curl in the image.
func probe(ctx context.Context, address string, port int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	host := "127.0.0.1"
	if ip, err := netip.ParseAddr(address); err == nil && !ip.IsUnspecified() {
		host = address
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/livez"
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
