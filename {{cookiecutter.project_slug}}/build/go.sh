#!/usr/bin/env bash
{% if cookiecutter.database == "postgres" -%}
# go.sh build|run|migrate: build the static binary into bin/, run the service with go run, or
# apply the database migrations to DATABASE_URL.
{% else -%}
# go.sh build|run: build the static binary into bin/, or run the service with go run.
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
  check VERSION PORT
  set -x
  go run -ldflags "-X main.version=$VERSION" .
  ;;
{%- if cookiecutter.database == "postgres" %}
migrate)
  [[ -n "${DATABASE_URL:-}" ]] || fail "DATABASE_URL is not set: export the database's URL, e.g. postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full"
  set -x
  go run . -migrate
  ;;
*) fail "go.sh: \"${1:-}\" is not allowed: build, run or migrate" ;;
{%- else %}
*) fail "go.sh: \"${1:-}\" is not allowed: build or run" ;;
{%- endif %}
esac
