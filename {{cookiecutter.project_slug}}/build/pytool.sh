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
if [[ ! -x "$venv/bin/$name" ]]; then
  need python3 'install Python 3 (with its venv module) first'
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "python3 -m venv failed: install Python's venv module (Debian: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$pin" >&2
fi
exec "$venv/bin/$name" "$@"
