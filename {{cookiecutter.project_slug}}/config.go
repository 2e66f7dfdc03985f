package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// errConfig marks errors caused by invalid flags or environment variables.
var errConfig = errors.New("invalid configuration")

// config is the service configuration, read once from the environment.
type config struct {
	// ListenAddress is the IP address every listener binds (LISTEN_ADDRESS):
	// empty for every interface, 127.0.0.1 or ::1 for this machine only.
	ListenAddress string
	// Port is the TCP port to listen on (PORT).
	Port int
{%- if cookiecutter.__prometheus_metrics == "True" %}
	// MetricsPort is the TCP port of the admin listener that serves
	// /metrics (METRICS_PORT), apart from the service's own traffic.
	MetricsPort int
{%- endif %}
	// LogLevel is the minimum level logged (LOG_LEVEL: debug, info, warn, error).
	LogLevel slog.Level
	// ShutdownDelay is how long the service keeps serving after a shutdown
	// signal, with /readyz answering 503, before it stops accepting
	// connections (SHUTDOWN_DELAY), so load balancers can take it out first.
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to
	// finish once the listener is closed (SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
{%- if cookiecutter.database == "postgres" %}
	// DatabaseURL is the PostgreSQL connection string (DATABASE_URL),
	// checked here, required to serve or migrate (not to -healthcheck).
	// Never log it: it may hold a password.
	DatabaseURL string
	// DatabaseUnverified says how the connection to the database goes
	// unverified (without TLS, or without checking the server's certificate),
	// which only DATABASE_ALLOW_UNVERIFIED=true lets through; "" when verified.
	DatabaseUnverified string
{%- endif %}
}

const (
	defaultPort            = {{ cookiecutter.port | int }}
{%- if cookiecutter.__prometheus_metrics == "True" %}
	defaultMetricsPort     = {{ 9091 if cookiecutter.port | int == 9090 else 9090 }}
{%- endif %}
	defaultShutdownTimeout = 10 * time.Second
)

// logLevels are the accepted LOG_LEVEL values.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// loadConfig reads and validates the configuration from getenv. Each
// variable is optional; an invalid one is reported with its name and value.
func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		Port:            defaultPort,
{%- if cookiecutter.__prometheus_metrics == "True" %}
		MetricsPort:     defaultMetricsPort,
{%- endif %}
		LogLevel:        slog.LevelInfo,
		ShutdownTimeout: defaultShutdownTimeout,
	}
	if v := getenv("LISTEN_ADDRESS"); v != "" {
		if _, err := netip.ParseAddr(v); err != nil {
			return config{}, fmt.Errorf(
				"%w: LISTEN_ADDRESS=%q: want an IP address such as 127.0.0.1 or ::1, or nothing for every interface",
				errConfig, v)
		}
		cfg.ListenAddress = v
	}
	if v := getenv("PORT"); v != "" {
		port, err := parsePort("PORT", v)
		if err != nil {
			return config{}, err
		}
		cfg.Port = port
	}
{%- if cookiecutter.__prometheus_metrics == "True" %}
	if v := getenv("METRICS_PORT"); v != "" {
		port, err := parsePort("METRICS_PORT", v)
		if err != nil {
			return config{}, err
		}
		cfg.MetricsPort = port
	}
	if cfg.MetricsPort == cfg.Port {
		return config{}, fmt.Errorf(
			"%w: METRICS_PORT=%d: want a port other than PORT (%d), so that /metrics stays off the service's port",
			errConfig, cfg.MetricsPort, cfg.Port)
	}
{%- endif %}
	if v := getenv("LOG_LEVEL"); v != "" {
		level, ok := logLevels[strings.ToLower(v)]
		if !ok {
			return config{}, fmt.Errorf("%w: LOG_LEVEL=%q: want debug, info, warn or error", errConfig, v)
		}
		cfg.LogLevel = level
	}
	if v := getenv("SHUTDOWN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return config{}, fmt.Errorf("%w: SHUTDOWN_DELAY=%q: want a duration of 0 or more, such as 5s", errConfig, v)
		}
		cfg.ShutdownDelay = d
	}
	if v := getenv("SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return config{}, fmt.Errorf("%w: SHUTDOWN_TIMEOUT=%q: want a duration above 0, such as 10s", errConfig, v)
		}
		cfg.ShutdownTimeout = d
	}
{%- if cookiecutter.database == "postgres" %}
	allowUnverified := false
	if v := getenv("DATABASE_ALLOW_UNVERIFIED"); v != "" {
		allow, err := strconv.ParseBool(v)
		if err != nil {
			return config{}, fmt.Errorf("%w: DATABASE_ALLOW_UNVERIFIED=%q: want true (a local database only) or false",
				errConfig, v)
		}
		allowUnverified = allow
	}
	if v := getenv("DATABASE_URL"); v != "" {
		database, err := parseDatabaseURL(v)
		if err != nil {
			return config{}, err
		}
		unverified, err := checkVerified(database, allowUnverified)
		if err != nil {
			return config{}, err
		}
		cfg.DatabaseURL = v
		cfg.DatabaseUnverified = unverified
	}
{%- endif %}
	return cfg, nil
}

// parsePort reads the value of the variable name as a TCP port number.
func parsePort(name, v string) (int, error) {
	port, err := strconv.Atoi(v)
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("%w: %s=%q: want a whole number from 1 to 65535", errConfig, name, v)
	}
	return port, nil
}
