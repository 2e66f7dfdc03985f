#!/usr/bin/env bash
# lint.sh: gofmt, go vet, and golangci-lint when it is installed.
set -o errexit -o nounset -o pipefail

unformatted="$(find . -name '*.go' -not -path './vendor/*' -exec gofmt -l {} +)"
if [[ -n "$unformatted" ]]; then
  printf 'not gofmt-ed:\n%s\n' "$unformatted"
  exit 1
fi
(set -x; go vet ./...)
if command -v golangci-lint >/dev/null 2>&1; then
  (set -x; golangci-lint run --allow-serial-runners)
else
  echo 'golangci-lint not installed: skipped'
fi
