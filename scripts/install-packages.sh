#!/usr/bin/env bash
# Install the Debian packages named that are not installed yet: `install-packages.sh PACKAGE...`.
# A no-op when all are there (so an ordinary user runs it freely); installing needs root.
set -euo pipefail

missing=()
for package in "$@"; do
  dpkg-query --show --showformat='${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed || missing+=("$package")
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
