package main

import (
	"log/slog"
	"net/http"

	"{{ cookiecutter.module_path }}/internal/problem"
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

// answerUnroutedWithProblems serves mux, except that when no route takes a
// request, what ServeMux answers (404 for a path it does not serve, 405 for
// a method the path does not take, with the Allow header that lists those it
// does) is a problem, as every other error of the service is. ServeMux's
// other answers to such a request (a redirect to the cleaned path) pass.
func answerUnroutedWithProblems(logger *slog.Logger, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(&unroutedWriter{ResponseWriter: w, request: r, logger: logger}, r)
	})
}

// unroutedWriter writes a problem instead of the 404 or 405 that ServeMux
// writes as plain text when no route took the request, and drops that text.
// ServeMux records the pattern of the route that took it in request.Pattern
// before it calls the route's handler: "" means none did.
type unroutedWriter struct {
	http.ResponseWriter
	request  *http.Request
	logger   *slog.Logger
	replaced bool // a problem was written: drop what ServeMux writes
}

// WriteHeader writes the problem of an unrouted 404 or 405, or passes code on.
func (w *unroutedWriter) WriteHeader(code int) {
	var detail string
	switch {
	case w.request.Pattern != "":
	case code == http.StatusNotFound:
		detail = "Nothing is served at this path."
	case code == http.StatusMethodNotAllowed:
		detail = "This path does not take this method: Allow lists those it takes."
	}
	if detail == "" {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.replaced = true
	writeProblem(w.ResponseWriter, w.request, w.logger, problem.New(code, detail))
}

// Unwrap gives http.ResponseController the writer underneath, for a route's
// handler that flushes or sets deadlines.
func (w *unroutedWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}

// Write drops ServeMux's text once a problem was written in its place.
func (w *unroutedWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}
