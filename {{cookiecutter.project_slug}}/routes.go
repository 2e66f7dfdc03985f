package main

import (
	"log/slog"
	"net/http"
)

// addRoutes registers every route of the service: this is the whole API.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, health *health) {
	mux.Handle("GET /{$}", handleRoot(logger))
	mux.Handle("GET /livez", handleLivez(logger))
	mux.Handle("GET /readyz", handleReadyz(logger, health))
}
{%- if cookiecutter.__prometheus_metrics == "True" %}

// addAdminRoutes registers the routes of the admin listener (METRICS_PORT),
// which the service's clients never reach.
func addAdminRoutes(mux *http.ServeMux, metrics *metrics) {
	mux.Handle("GET /metrics", metrics.handler())
}
{%- endif %}
