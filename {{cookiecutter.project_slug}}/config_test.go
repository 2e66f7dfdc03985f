package main

import (
	"log/slog"
	"testing"
	"time"
)

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	want := config{
		Port:            defaultPort,
{%- if cookiecutter.__prometheus_metrics == "True" %}
		MetricsPort:     defaultMetricsPort,
{%- endif %}
		LogLevel:        slog.LevelInfo,
		ShutdownTimeout: defaultShutdownTimeout,
	}
	if cfg != want {
		t.Errorf("loadConfig() = %+v, want %+v", cfg, want)
	}
}

func TestLoadConfigReadsEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"LISTEN_ADDRESS":   "127.0.0.1",
		"PORT":             "9999",
{%- if cookiecutter.__prometheus_metrics == "True" %}
		"METRICS_PORT":     "9998",
{%- endif %}
		"LOG_LEVEL":        "DEBUG",
		"SHUTDOWN_DELAY":   "5s",
		"SHUTDOWN_TIMEOUT": "1m",
	}
	cfg, err := loadConfig(func(key string) string { return env[key] })
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	want := config{
		ListenAddress:   "127.0.0.1",
		Port:            9999,
{%- if cookiecutter.__prometheus_metrics == "True" %}
		MetricsPort:     9998,
{%- endif %}
		LogLevel:        slog.LevelDebug,
		ShutdownDelay:   5 * time.Second,
		ShutdownTimeout: time.Minute,
	}
	if cfg != want {
		t.Errorf("loadConfig() = %+v, want %+v", cfg, want)
	}
}
