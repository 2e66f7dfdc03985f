#!/usr/bin/env bash
# lint.sh: gofmt, go vet, and golangci-lint at the release tools/golangci-lint/go.mod pins, built with
# the service's Go by `go tool` in that module (which prints the binary's path): the same checks
# locally, in pre-commit and in CI.
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

unformatted="$(find . -name '*.go' -not -path './vendor/*' -not -path './.go/*' -exec gofmt -l {} +)"
if [[ -n "$unformatted" ]]; then
  printf 'not gofmt-ed (run gofmt -w):\n%s\n' "$unformatted" >&2
  exit 1
fi
(set -x; go vet ./...)
golangci_lint="$(go tool -C tools/golangci-lint -n golangci-lint)"
(set -x; run_tool "$golangci_lint" run --allow-serial-runners)
