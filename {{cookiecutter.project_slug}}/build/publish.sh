#!/usr/bin/env bash
# publish.sh: build IMAGE:VERSION for PLATFORMS with docker buildx and push it as one image index,
# with provenance (and, unless SBOM_ATTESTATION=false, SBOM) attestations; save its digest in dist/digest.
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

check IMAGE VERSION PLATFORMS SBOM_ATTESTATION
build_args --build-arg ''
"$DOCKER" buildx version >/dev/null 2>&1 ||
  fail "DOCKER=\"$DOCKER\" has no buildx: install Docker's buildx plugin (0.11 or later)"

mkdir -p dist
rm -f dist/publish.json dist/digest
(
  set -x
  "$DOCKER" buildx build --platform "$PLATFORMS" --build-arg GOLANG_IMAGE --build-arg "VERSION=$VERSION" \
    ${args[@]+"${args[@]}"} --provenance=mode=max --sbom="$SBOM_ATTESTATION" \
    --tag "$IMAGE:$VERSION" --push --metadata-file dist/publish.json .
)
digest="$(grep -o '"containerimage.digest": *"sha256:[0-9a-f]*"' dist/publish.json | grep -o 'sha256:[0-9a-f]*')" ||
  fail "dist/publish.json holds no image digest"
printf '%s\n' "$digest" >dist/digest
printf 'published %s@%s\n' "$IMAGE:$VERSION" "$digest"
