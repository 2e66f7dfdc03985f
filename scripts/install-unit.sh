#!/usr/bin/env bash
# What the unit tier needs (no Docker, no cluster, no root when these are present):
#   - git and make: the generated Makefile and repositories; Go itself is a prerequisite;
#   - PostgreSQL (Debian's server, run on loopback by harness/postgres.py): the database option's tests;
#   - Node and npm (Debian's): the runners' installs, and Redocly CLI, which an api project's make lint runs;
#   - a virtual environment in .venv with the pinned test dependencies (pyproject.toml);
#   - the Go tools that check generated projects: golangci-lint, actionlint, kustomize (versions.json);
#   - the CI runners that run workflows and pipelines offline: act, gitlab-ci-local (install-runners.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null || { echo "install-unit: error: go is not on PATH: install Go first (https://go.dev/dl/)" >&2; exit 1; }
bash scripts/install-packages.sh git:git make:make '/usr/lib/postgresql/*/bin/postgres:postgresql' psql:postgresql-client \
  node:nodejs npm:npm
# The OpenAPI option's `make lint` runs Redocly CLI 2, which needs Node 20.19+ (or 22.12+).
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 0 : 1)' ||
  { echo "install-unit: error: Node $(node --version) is too old for Redocly CLI: install Node 22.12+ or 20.19+" >&2; exit 1; }
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check '.[dev]'
bash scripts/install-go-tools.sh golangci-lint actionlint kustomize
bash scripts/install-runners.sh >/dev/null
