#!/usr/bin/env bash
# Run the template's whole test suite, installing what it needs first:
#   - a virtual environment in .venv with the pinned test dependencies (pyproject.toml);
#   - the pinned Go tools (golangci-lint, actionlint, kustomize) via the Go module proxy;
#   - a running Docker engine with BuildKit (Debian's docker.io; installing and starting it needs root);
#   - Backstage's npm packages (tests/backstage/package-lock.json) with the machine's Node and npm,
#     cached in build/backstage/ per lock file.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k rendering`.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check '.[dev]'
bash scripts/install-go-tools.sh
PATH="$(go env GOPATH)/bin:$PATH"
export PATH
bash scripts/docker-engine.sh
if command -v npm >/dev/null || [ "${CI:-}" = true ]; then
  bash scripts/install-backstage.sh >/dev/null
else
  echo "note: npm is not installed: the Backstage tests will be skipped" >&2
fi

# pytest's exit code 5 means "no test ran": never a success here.
# --dist loadgroup keeps each image variant on one worker, so it is built once.
if (($# > 0)); then
  exec .venv/bin/pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"
fi
# The whole suite: everything but the cluster on two workers, then the cluster tests on their own,
# in file order (they roll one Deployment forward and back, and tear the cluster down last) and
# with the machine to themselves, so that probes and load are not starved by parallel builds.
status=0
.venv/bin/pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup -m "not kubernetes" || status=$?
.venv/bin/pytest -n 0 -m kubernetes || status=$?
exit "$status"
