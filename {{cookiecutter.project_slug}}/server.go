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

// deps is what the service is made of. run (main.go) creates it, then each
// option the project was made with adds to it in one block of its own: the
// routes it serves, the middleware around them, the readiness checks, the
// ports it listens on besides the service's, and what to close at shutdown.
type deps struct {
	logger *slog.Logger
	health *health
	// routes is the service's API, by ServeMux pattern: newRoutes (routes.go)
	// starts it, options add to it or replace what they serve instead. The
	// probes are not in it: addRoutes serves them whatever the options.
	routes map[string]http.Handler
	// middleware wraps every route of the service's port; the first added
	// is the outermost.
	middleware []func(http.Handler) http.Handler
	// listeners are the ports served besides the service's own (cfg.Port).
	listeners []listener
	// closers run once every server has stopped, the last added first,
	// within what is left of cfg.ShutdownTimeout.
	closers []func(context.Context) error
{%- if cookiecutter.database == "postgres" %}

	notes noteStore // the notes example's queries, on the database pool
{%- endif %}
}

// newDeps returns the service before any option adds to it.
func newDeps(logger *slog.Logger) deps {
	return deps{logger: logger, health: &health{}, routes: newRoutes(logger)}
}

// newServer builds the handler of the service's port: every route (a
// request that none takes gets a problem too), wrapped in the middleware
// that all requests go through, then in the options'.
func newServer(d deps) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, d)
	handler := answerUnroutedWithProblems(d.logger, mux)
	handler = limitRequestBodies(handler)
	handler = recoverPanics(d.logger, handler)
	handler = logRequests(d.logger, handler)
	for i := len(d.middleware) - 1; i >= 0; i-- {
		handler = d.middleware[i](handler)
	}
	return handler
}

// newLogger returns a JSON logger writing to w at the given minimum level.
// Each line is written to w when it is logged, in one Write call: none waits
// in a buffer, so none is lost when the process is killed.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
{%- if cookiecutter.__opentelemetry == "True" %}
	return slog.New(withTraceIDs(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
{%- else %}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
{%- endif %}
}

// newHTTPServer returns a server for handler with every timeout and limit
// set: a client that sends its headers slowly (Slowloris), or never ends
// its body, cannot hold a connection for long.
func newHTTPServer(handler http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// closeWhenShuttingDown makes every answer given once shutdown has begun
// carry "Connection: close", and the server closes the connection after it.
// Callers that keep connections open (proxies, meshes, other services) would
// otherwise stay pinned to this instance: their next request opens a new
// connection, which the load balancer sends to an instance that stays.
// Idle connections are left for Shutdown to close: closing them at once
// would race a request the caller may be sending on one at that moment.
func closeWhenShuttingDown(next http.Handler, h *health) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.shuttingDown.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// listener is one TCP port the service serves, and the handler behind it.
type listener struct {
	name    string // in log lines and errors: "http", "metrics"
	port    int
	handler http.Handler
}

// serve serves the service's port (cfg.Port) and every listener in d, each
// on cfg.ListenAddress (every interface when empty), until
// ctx is cancelled or SIGINT or SIGTERM arrives. It then marks the service
// not ready, keeps serving for cfg.ShutdownDelay (closing each connection
// after its answer), stops accepting connections and waits up to
// cfg.ShutdownTimeout for in-flight requests before it returns. d's closers
// run last, within what is left of that timeout; their errors are logged,
// not returned: telemetry that cannot be delivered does not make a clean
// shutdown fail.
func serve(ctx context.Context, cfg config, d deps) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := d.logger
	service := listener{name: "http", port: cfg.Port, handler: newServer(d)}
	listeners := append([]listener{service}, d.listeners...)
	// Listen on every port before serving so that a busy port fails at startup.
	var lc net.ListenConfig
	sockets := make([]net.Listener, 0, len(listeners))
	for _, l := range listeners {
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(cfg.ListenAddress, strconv.Itoa(l.port)))
		if err != nil {
			err = fmt.Errorf("listen on the %s port: %w", l.name, err)
			for _, open := range sockets {
				err = errors.Join(err, open.Close())
			}
			return err
		}
		sockets = append(sockets, ln)
	}
	servers := make([]*http.Server, len(listeners))
	served := make(chan error, len(listeners))
	for i, l := range listeners {
		servers[i] = newHTTPServer(closeWhenShuttingDown(l.handler, d.health), logger)
		go func() { served <- servers[i].Serve(sockets[i]) }()
		logger.Info("listening", "listener", l.name, "addr", sockets[i].Addr().String(), "version", version)
	}

	select {
	case err := <-served:
		err = fmt.Errorf("serve: %w", err)
		for _, srv := range servers {
			err = errors.Join(err, srv.Close())
		}
		return err
	case <-ctx.Done():
	}
	stop() // From here on, a second signal ends the process at once.

	d.health.startShutdown()
	logger.Info("shutting down", "delay", cfg.ShutdownDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	time.Sleep(cfg.ShutdownDelay)

	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	for range servers {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
	}
	for i := len(d.closers) - 1; i >= 0; i-- {
		if err := d.closers[i](shutdownCtx); err != nil {
			logger.Error("close at shutdown", "err", err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}
