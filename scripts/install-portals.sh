#!/usr/bin/env bash
# What the portals tier needs on top of the unit tier: Node and npm, which run Backstage's own code
# and read the form's patterns as the scaffolder does (Debian's nodejs and npm where no node is
# installed), and Backstage's pinned npm packages (tests/backstage/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  bash scripts/install-packages.sh node:nodejs npm:npm
fi
bash scripts/install-backstage.sh >/dev/null
