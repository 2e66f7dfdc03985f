#!/usr/bin/env bash
{% if cookiecutter.database == "postgres" -%}
# go.sh build|run|dev|migrate: build the static binary into bin/, run the service with go run, run it
# with live reload (air), or apply the database migrations to DATABASE_URL. run, dev and migrate
# take the variables of .env first, when it exists (load_env in lib.sh).
{% else -%}
# go.sh build|run|dev: build the static binary into bin/, run the service with go run, or run it
# with live reload (air). run and dev take the variables of .env first, when it exists (load_env in lib.sh).
{% endif -%}
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

case "${1:-}" in
build)
  check BINARY VERSION
  set -x
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "bin/$BINARY" .
  ;;
run)
  load_env .env
  check VERSION PORT
  set -x
  go run -ldflags "-X main.version=$VERSION" .
  ;;
dev)
  # air (.air.toml) builds into bin/air with VERSION, runs the service, and rebuilds and restarts it
  # (SIGINT, then up to 5s) on each change of its code; Ctrl-C stops both.
  load_env .env
  check VERSION PORT
{%- if cookiecutter.database == "postgres" %}
  [[ -n "${DATABASE_URL:-}" ]] || fail "DATABASE_URL is not set: make up, then cp .env.example .env (or export it)"
{%- endif %}
  export VERSION
  air="$(go tool -C tools/air -n air)"
  set -x
  run_tool "$air" -c .air.toml
  ;;
{%- if cookiecutter.database == "postgres" %}
migrate)
  load_env .env
  [[ -n "${DATABASE_URL:-}" ]] || fail "DATABASE_URL is not set: export the database's URL, e.g. postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full"
  set -x
  go run . -migrate
  ;;
*) fail "go.sh: \"${1:-}\" is not allowed: build, run, dev or migrate" ;;
{%- else %}
*) fail "go.sh: \"${1:-}\" is not allowed: build, run or dev" ;;
{%- endif %}
esac
