package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"{{ cookiecutter.module_path }}/internal/problem"
)

// serviceName is the name the service reports about itself.
const serviceName = "{{ cookiecutter.project_slug }}"

// greeting is the body of GET /.
type greeting struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// handleRoot answers GET / with the service's name and version.
func handleRoot(logger *slog.Logger) http.Handler {
	body := greeting{Name: serviceName, Version: version}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond(w, r, logger, http.StatusOK, body)
	})
}

// respond writes v as a JSON response and logs the error if the write
// fails: by then the status is sent, so the client cannot be told.
func respond[T any](w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int, v T) {
	if err := encode(w, status, v); err != nil {
		logger.ErrorContext(r.Context(), "write response", "err", err)
	}
}

// writeProblem answers p as problem details (see internal/problem), and
// logs the error if the write fails.
func writeProblem(w http.ResponseWriter, r *http.Request, logger *slog.Logger, p problem.Details) {
	if err := problem.Write(w, p); err != nil {
		logger.ErrorContext(r.Context(), "write response", "err", err)
	}
}

// encode writes v as a JSON response with the given status code. nosniff
// stops browsers from reading the answer as anything but JSON.
func encode[T any](w http.ResponseWriter, status int, v T) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	return nil
}
