#!/usr/bin/env bash
# pytool.sh NAME [ARG...]: run the Python tool NAME at the release requirements-ci.txt pins, from a
# virtual environment of its own, made on first use in PYTOOLS_DIR (default: the user's cache).
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

name="${1:-}"
pin="$("$(dirname "$0")/pin.sh" "$name")"
shift
venv="${PYTOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/{{ cookiecutter.project_slug }}/python}/$pin"
# The venv counts once its .installed stamp is written: one left half-made is made again.
if [[ ! -f "$venv/.installed" ]]; then
  need python3 'install Python 3 (with its venv module) first'
  mkdir -p "$(dirname "$venv")"
  # One installer at a time (parallel make jobs, CI jobs sharing a cache).
  exec 9>"$venv.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if [[ ! -f "$venv/.installed" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv" ||
      fail "python3 -m venv failed: install Python's venv module (Debian: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$pin" >&2
    touch "$venv/.installed"
  fi
fi
exec "$venv/bin/$name" "$@"
