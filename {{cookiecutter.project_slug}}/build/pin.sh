#!/usr/bin/env bash
# pin.sh NAME: print one pinned version, read from the file where the dependency bots keep it
# current, so that CI, the Makefile and a developer read every pin the same way:
#   go                  the Go release of the Dockerfile's builder image (golang:<release>-alpine)
{%- if cookiecutter.ci == "github" and cookiecutter.database == "postgres" %}
#   postgres-image      the test job's PostgreSQL image, postgres:<tag>@sha256:<digest>, from .github/postgres/Dockerfile
{%- endif %}
#   <python tool>       its name==version line of requirements-ci.txt, without the comment
# pin.sh --github-output NAME...: append NAME=<pin> for each to $GITHUB_OUTPUT (a step's outputs);
# nothing is written unless every pin is found.
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

# first_match PATTERN FILE prints the first line of FILE that sed's PATTERN (with p) prints.
first_match() {
  [[ -f "$2" ]] || fail "$2 is missing"
  sed -n "$1" "$2" | head -n 1
}

# pin NAME prints NAME's pin, or stops with one line.
pin() {
  local value
  case "$1" in
  go) value="$(first_match 's/^FROM .* golang:\([0-9][0-9.]*\)-alpine[@ ].*AS golang-builder$/\1/p' Dockerfile)" ;;
{%- if cookiecutter.ci == "github" and cookiecutter.database == "postgres" %}
  postgres-image) value="$(first_match 's/^FROM \(postgres:[^ ]*@sha256:[0-9a-f]\{64\}\)$/\1/p' .github/postgres/Dockerfile)" ;;
{%- endif %}
  *)
    [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] ||
      fail "pin.sh: \"$1\" is not allowed: go{% if cookiecutter.ci == 'github' and cookiecutter.database == 'postgres' %}, postgres-image{% endif %} or a tool of requirements-ci.txt"
    value="$(first_match "s/^\\($1==[^[:space:]#]*\\).*/\\1/p" requirements-ci.txt)"
    ;;
  esac
  [[ -n "$value" ]] || fail "pin.sh: no pin for \"$1\""
  printf '%s\n' "$value"
}

if [[ "${1:-}" == --github-output ]]; then
  shift
  [[ -n "${GITHUB_OUTPUT:-}" ]] || fail "pin.sh: --github-output needs GITHUB_OUTPUT (a GitHub Actions step)"
  lines=""
  for name in "$@"; do
    value="$(pin "$name")"
    lines+="$name=$value"$'\n'
  done
  printf '%s' "$lines" >>"$GITHUB_OUTPUT"
else
  (($# == 1)) || fail "pin.sh: usage: pin.sh NAME, or pin.sh --github-output NAME..."
  pin "$1"
fi
