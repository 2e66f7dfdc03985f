package main

import (
	"log/slog"
	"net/http"
{%- if cookiecutter.database == "postgres" %}

	"{{ cookiecutter.module_path }}/internal/db"
{%- endif %}
)

// addRoutes registers every route of the service: this is the whole API.
{%- if cookiecutter.database == "postgres" %}
func addRoutes(mux *http.ServeMux, logger *slog.Logger, health *health, queries *db.Queries) {
{%- else %}
func addRoutes(mux *http.ServeMux, logger *slog.Logger, health *health) {
{%- endif %}
	mux.Handle("GET /{$}", handleRoot(logger))
	mux.Handle("GET /livez", handleLivez(logger))
	mux.Handle("GET /readyz", handleReadyz(logger, health))
{%- if cookiecutter.database == "postgres" %}
	// The notes example (notes.go): delete these two lines with it.
	mux.Handle("POST /notes", handleCreateNote(logger, queries))
	mux.Handle("GET /notes/{id}", handleGetNote(logger, queries))
{%- endif %}
}
{%- if cookiecutter.__prometheus_metrics == "True" %}

// addAdminRoutes registers the routes of the admin listener (METRICS_PORT),
// which the service's clients never reach.
func addAdminRoutes(mux *http.ServeMux, metrics *metrics) {
	mux.Handle("GET /metrics", metrics.handler())
}
{%- endif %}
