#!/usr/bin/env bash
# Run the template's tests, installing first what the chosen tier needs (CONTRIBUTING.md):
#
#   bash scripts/test.sh               the whole suite (as root on a fresh machine: it installs everything)
#   bash scripts/test.sh unit          rendering, hooks, answers, form, manifests, CI files, Go vet and
#                                      tests, CI jobs under act and gitlab-ci-local: no Docker, no cluster, no root
#   bash scripts/test.sh images        tests marked docker: images, `make publish`, services in containers
#   bash scripts/test.sh portals       tests marked node: Backstage's own code and the form's patterns
#   bash scripts/test.sh cluster       tests marked kubernetes, on a real cluster (as root)
#
# Extra arguments go to pytest, e.g. `bash scripts/test.sh unit -k hooks`.
# pytest's exit code 5 ("no test ran") is a failure here, as every other non-zero code.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly UNIT="not docker and not node and not kubernetes"
readonly IMAGES="docker and not node and not kubernetes"
readonly PORTALS="node and not kubernetes"
readonly CLUSTER="kubernetes"

tier=all
case "${1:-}" in
  unit | images | portals | cluster | all) tier="$1"; shift ;;
  -* | "") ;;
  *) echo "test.sh: error: tier \"$1\" is not known: one of unit, images, portals, cluster, all (or pytest options)" >&2; exit 2 ;;
esac

bash scripts/install-unit.sh
PATH="$(go env GOPATH)/bin:$PATH"
export PATH
case "$tier" in
  images) bash scripts/install-images.sh ;;
  portals) bash scripts/install-portals.sh && bash scripts/install-images.sh ;;  # two Backstage renders are built into images
  cluster) bash scripts/install-images.sh && bash scripts/install-cluster.sh ;;
  all) bash scripts/install-images.sh && bash scripts/install-portals.sh && bash scripts/install-cluster.sh ;;
esac

# --dist loadgroup keeps each image variant on one worker, so it is built once.
parallel() { .venv/bin/pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"; }
# The cluster tests run in-process, in file order, with the machine to themselves, so that probes and
# load are not starved by parallel builds (xdist stays loaded for its markers).
alone() { .venv/bin/pytest -n 0 "$@"; }

case "$tier" in
  unit) parallel -m "$UNIT" "$@" ;;
  images) parallel -m "$IMAGES" "$@" ;;
  portals) parallel -m "$PORTALS" "$@" ;;
  cluster) alone -m "$CLUSTER" "$@" ;;
  all)
    if (($# > 0)); then
      parallel "$@"
    else
      # The whole suite: everything but the cluster on two workers, then the cluster tests alone.
      status=0
      parallel -m "not kubernetes" || status=$?
      alone -m "$CLUSTER" || status=$?
      exit "$status"
    fi
    ;;
esac
