#!/usr/bin/env bash
# What the unit tier needs (no Docker, no cluster, no root when these are present; npm only installs the runners):
#   - git and make: the generated Makefile and repositories; Go itself is a prerequisite;
#   - PostgreSQL (Debian's server, run on loopback by harness/postgres.py): the database option's tests;
#   - a virtual environment in .venv with the pinned test dependencies (pyproject.toml);
#   - the Go tools that check generated projects: golangci-lint, actionlint, kustomize (versions.json);
#   - the CI runners that run workflows and pipelines offline: act, gitlab-ci-local (install-runners.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null || { echo "install-unit: error: go is not on PATH: install Go first (https://go.dev/dl/)" >&2; exit 1; }
bash scripts/install-packages.sh git:git make:make '/usr/lib/postgresql/*/bin/postgres:postgresql' psql:postgresql-client
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check '.[dev]'
bash scripts/install-go-tools.sh golangci-lint actionlint kustomize
bash scripts/install-runners.sh >/dev/null
