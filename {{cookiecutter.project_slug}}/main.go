{#- The doc comment reads as sentences whatever the description's case or final stop. -#}
{%- set about = cookiecutter.description | trim -%}
{%- set about = about[:1] | upper ~ about[1:] -%}
{%- set about = about if about[-1:] in [".", "!", "?"] else about ~ "." -%}
{%- set summary = "Command " ~ cookiecutter.project_slug ~ " is an HTTP service. " ~ about -%}
// {{ summary | wordwrap(76, False, "\n// ", False) }}
//
// It is configured through the environment (see config.go), logs JSON to
// standard output, and shuts down gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx := context.Background()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "{{ cookiecutter.project_slug }}: %v\n", err)
		os.Exit(exitCode(err))
	}
}
{%- if cookiecutter.database == "postgres" %}

// run is the whole program behind main: it reads flags and configuration,
// then either answers a one-off command (-version, -healthcheck, -migrate)
// or serves until ctx is cancelled or a shutdown signal arrives.
{%- else %}

// run is the whole program behind main: it reads flags and configuration,
// then either answers a one-off command (-version, -healthcheck) or serves
// until ctx is cancelled or a shutdown signal arrives.
{%- endif %}
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet(args[0], flag.ContinueOnError)
	flags.SetOutput(stderr)
	healthcheck := flags.Bool("healthcheck", false, "probe the running service on localhost and exit 0 when it is healthy")
	showVersion := flags.Bool("version", false, "print the version and exit")
{%- if cookiecutter.database == "postgres" %}
	migrateOnly := flags.Bool("migrate", false, "apply the embedded database migrations to DATABASE_URL and exit")
{%- endif %}
	if err := flags.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %w", errConfig, err)
	}
	if *showVersion {
		_, err := fmt.Fprintln(stdout, version)
		return err
	}

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if *healthcheck {
		return probe(ctx, cfg.ListenAddress, cfg.Port)
	}
	logger := newLogger(stdout, cfg.LogLevel)
	// The service is d: each option of the project adds to it in a block of
	// its own below (routes, middleware, readiness checks, listeners, what to
	// close at shutdown).
	d := newDeps(logger)
{%- if cookiecutter.database == "postgres" %}

	if cfg.DatabaseURL == "" {
		return fmt.Errorf("%w: DATABASE_URL is not set: want a PostgreSQL URL such as %s", errConfig, databaseURLExample)
	}
	if cfg.DatabaseUnverified != "" {
		logger.Warn("the database server is not verified: DATABASE_ALLOW_UNVERIFIED=true is for a local database only",
			"reason", cfg.DatabaseUnverified)
	}
	if *migrateOnly {
		return migrate(ctx, cfg.DatabaseURL, logger)
	}
	if err := addDatabase(ctx, &d, cfg.DatabaseURL); err != nil {
		return err
	}
{%- endif %}
{%- if cookiecutter.__opentelemetry == "True" %}

	if err := addTracing(ctx, &d, getenv); err != nil {
		return err
	}
{%- endif %}
{%- if cookiecutter.__prometheus_metrics == "True" %}

	addMetrics(&d, cfg.MetricsPort)
{%- endif %}
{%- if cookiecutter.api == "openapi" %}

	if err := addAPI(&d); err != nil {
		return err
	}
{%- endif %}

	return serve(ctx, cfg, d)
}

// exitCode maps an error from run to the process exit code: 2 for bad
// configuration or flags, 1 for anything else.
func exitCode(err error) int {
	if errors.Is(err, errConfig) {
		return 2
	}
	return 1
}
