package main

import (
	"log/slog"
	"net/http"
)

// newRoutes returns the service's own API, before the options add theirs in
// run (main.go): ServeMux patterns and their handlers.
func newRoutes(logger *slog.Logger) map[string]http.Handler {
	return map[string]http.Handler{
		"GET /{$}": handleRoot(logger),
	}
}

// addRoutes registers every route of the service's port: the probes, which
// answer the same whatever the options, then the API in d.routes.
func addRoutes(mux *http.ServeMux, d deps) {
	mux.Handle("GET /livez", handleLivez(d.logger))
	mux.Handle("GET /readyz", handleReadyz(d.logger, d.health))
	for pattern, handler := range d.routes {
		mux.Handle(pattern, handler)
	}
}
