package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// newServer builds the service's HTTP handler: every route, wrapped in the
// middleware that all requests go through.
func newServer(logger *slog.Logger, health *health{% if cookiecutter.__prometheus_metrics == "True" %}, metrics *metrics{% endif %}) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, health{% if cookiecutter.__prometheus_metrics == "True" %}, metrics{% endif %})
	var handler http.Handler = mux
	handler = recoverPanics(logger, handler)
{%- if cookiecutter.__prometheus_metrics == "True" %}
	handler = metrics.instrument(handler)
{%- endif %}
	handler = logRequests(logger, handler)
	return handler
}

// newLogger returns a JSON logger writing to w at the given minimum level.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// serve serves handler on cfg.Port until ctx is cancelled or SIGINT or
// SIGTERM arrives. It then marks the service not ready, keeps serving for
// cfg.ShutdownDelay, stops accepting connections and waits up to
// cfg.ShutdownTimeout for in-flight requests before it returns.
func serve(ctx context.Context, cfg config, logger *slog.Logger, handler http.Handler, health *health) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Listen before serving so that a busy port fails at startup.
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "version", version)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop() // From here on, a second signal ends the process at once.

	health.startShutdown()
	logger.Info("shutting down", "delay", cfg.ShutdownDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	time.Sleep(cfg.ShutdownDelay)

	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}
