#!/usr/bin/env bash
# cosign.sh sign|verify: sign IMAGE:VERSION (or IMAGE@DIGEST) with COSIGN_KEY, or verify it with COSIGN_PUB.
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

ref="$(image_ref)"
# COSIGN_FLAGS, SIGN_FLAGS and VERIFY_FLAGS are lists of flags: split into words, never globbed.
read -r -d "" -a flags <<<"$COSIGN_FLAGS" || :
case "${1:-}" in
sign)
  read -r -d "" -a extra <<<"$SIGN_FLAGS" || :
  set -x
  "$COSIGN" sign --yes --key "$COSIGN_KEY" ${flags[@]+"${flags[@]}"} ${extra[@]+"${extra[@]}"} "$ref"
  ;;
verify)
  read -r -d "" -a extra <<<"$VERIFY_FLAGS" || :
  (
    set -x
    "$COSIGN" verify --key "$COSIGN_PUB" ${flags[@]+"${flags[@]}"} ${extra[@]+"${extra[@]}"} "$ref" >/dev/null
  )
  printf 'verified %s\n' "$ref"
  ;;
*) fail "cosign.sh: \"${1:-}\" is not allowed: sign or verify" ;;
esac
