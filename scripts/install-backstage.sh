#!/usr/bin/env bash
# Install the Backstage npm packages that the tests drive (tests/backstage/package-lock.json, exact
# versions) into build/backstage/<lock hash>/node_modules, once per lock file, and print that path.
# --ignore-scripts: nothing is compiled (the action, the catalog's processor and validators are plain JavaScript).
set -euo pipefail
cd "$(dirname "$0")/.."

lock=tests/backstage/package-lock.json
target="build/backstage/$(sha256sum "$lock" | cut -c1-16)"
if [ ! -f "$target/node_modules/.installed" ]; then
  rm -rf "$target" "$target.partial"
  mkdir -p "$target.partial"
  cp tests/backstage/package.json "$lock" "$target.partial/"
  (cd "$target.partial" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  touch "$target.partial/node_modules/.installed"
  mv "$target.partial" "$target"
  # Installs for older lock files are not used any more (about 390 MB each).
  find build/backstage -mindepth 1 -maxdepth 1 -type d ! -path "$target" -exec rm -rf {} +
fi
echo "$PWD/$target/node_modules"
