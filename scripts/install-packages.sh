#!/usr/bin/env bash
# Install the Debian packages whose program is missing: `install-packages.sh PROGRAM:PACKAGE...`,
# where PROGRAM is a command looked up on PATH or an absolute path (a glob: any match will do). A
# program that is there already (from Debian or elsewhere, e.g. Docker CE's) is left alone, so an
# ordinary user runs this freely when everything is present; installing needs root.
set -euo pipefail

present() { if [[ "$1" == /* ]]; then compgen -G "$1" >/dev/null; else command -v "$1" >/dev/null; fi; }

missing=()
for item in "$@"; do
  present "${item%%:*}" || missing+=("${item#*:}")
done
((${#missing[@]} == 0)) && exit 0
if [[ "$(id -u)" -ne 0 ]]; then
  echo "install-packages: error: ${missing[*]} not installed; run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "install-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
