#!/usr/bin/env bash
# go.sh build|run: build the static binary into bin/, or run the service with go run.
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

case "${1:-}" in
build)
  check BINARY VERSION
  set -x
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "bin/$BINARY" .
  ;;
run)
  check VERSION PORT
  set -x
  go run -ldflags "-X main.version=$VERSION" .
  ;;
*) fail "go.sh: \"${1:-}\" is not allowed: build or run" ;;
esac
