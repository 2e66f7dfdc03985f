#!/usr/bin/env bash
# lint.sh: gofmt, go vet, and golangci-lint at the release tools/golangci-lint/go.mod pins, built with
# the service's Go by `go tool` in that module (which prints the binary's path): the same checks
# locally, in pre-commit and in CI.
set -o errexit -o nounset -o pipefail

unformatted="$(find . -name '*.go' -not -path './vendor/*' -not -path './.go/*' -exec gofmt -l {} +)"
if [[ -n "$unformatted" ]]; then
  printf 'not gofmt-ed (run gofmt -w):\n%s\n' "$unformatted" >&2
  exit 1
fi
(set -x; go vet ./...)
golangci_lint="$(go tool -C tools/golangci-lint -n golangci-lint)"
(set -x; "$golangci_lint" run --allow-serial-runners)
