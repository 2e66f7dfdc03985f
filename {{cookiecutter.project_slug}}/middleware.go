package main

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"{{ cookiecutter.module_path }}/internal/problem"
)

// maxRequestBodyBytes bounds the body a handler can read: reading past it
// fails with *http.MaxBytesError, and the server closes the connection.
const maxRequestBodyBytes = 1 << 20

// quiet tells whether path is asked for every few seconds by probes and
// scrapers: such requests, when they succeed, are logged at debug level
// only, so they do not bury the service's own traffic under thousands of
// lines an hour.
func quiet(path string) bool {
	switch path {
	case "/livez", "/readyz", "/metrics":
		return true
	}
	return false
}

// logRequests logs one line per request with its method, path, status and
// duration_ms (the time to answer, in milliseconds: always a JSON number,
// with fractions): at info level, or at debug level for a successful probe
// or scrape. 5xx answers are always logged.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if quiet(r.URL.Path) && rec.status < http.StatusInternalServerError {
			level = slog.LevelDebug
		}
		logger.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Float64("duration_ms", float64(time.Since(start))/float64(time.Millisecond)),
		)
	})
}

// recoverPanics turns a panic in a handler into a logged 500 problem, so
// one bad request cannot take the service down.
func recoverPanics(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // net/http's way to abort a response: let the server handle it
			}
			logger.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()))
			writeProblem(w, r, logger, problem.New(http.StatusInternalServerError, ""))
		}()
		next.ServeHTTP(w, r)
	})
}

// limitRequestBodies caps the request body of every handler at
// maxRequestBodyBytes, so that no client can make one read without end.
func limitRequestBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status code written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status code and passes it on.
func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
