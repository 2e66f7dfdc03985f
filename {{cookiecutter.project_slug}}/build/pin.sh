#!/usr/bin/env bash
# pin.sh NAME: print one pinned version, read from the file where the dependency bots keep it
# current, so that CI, the Makefile and a developer read every pin the same way:
#   go                  the Go release of the Dockerfile's builder image (golang:<release>-alpine)
{%- if cookiecutter.ci == "github" and cookiecutter.database == "postgres" %}
#   postgres-image      the test job's PostgreSQL image, postgres:<tag>@sha256:<digest>, from .github/postgres/Dockerfile
{%- endif %}
#   <python tool>       its name==version line of requirements-ci.txt, without the comment
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

# first_match PATTERN FILE prints the first line of FILE that sed's PATTERN (with p) prints.
first_match() {
  [[ -f "$2" ]] || fail "$2 is missing"
  sed -n "$1" "$2" | head -n 1
}

name="${1:-}"
case "$name" in
go) value="$(first_match 's/^FROM .* golang:\([0-9][0-9.]*\)-alpine[@ ].*AS golang-builder$/\1/p' Dockerfile)" ;;
{%- if cookiecutter.ci == "github" and cookiecutter.database == "postgres" %}
postgres-image) value="$(first_match 's/^FROM \(postgres:[^ ]*@sha256:[0-9a-f]\{64\}\)$/\1/p' .github/postgres/Dockerfile)" ;;
{%- endif %}
*)
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] ||
    fail "pin.sh: \"$name\" is not allowed: go{% if cookiecutter.ci == 'github' and cookiecutter.database == 'postgres' %}, postgres-image{% endif %} or a tool of requirements-ci.txt"
  value="$(first_match "s/^\\($name==[^[:space:]#]*\\).*/\\1/p" requirements-ci.txt)"
  ;;
esac
[[ -n "$value" ]] || fail "pin.sh: no pin for \"$name\""
printf '%s\n' "$value"
