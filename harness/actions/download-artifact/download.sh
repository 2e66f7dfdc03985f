#!/usr/bin/env bash
# actions/download-artifact's contract (v4), offline: a named artifact's files go into path itself;
# without a name, every artifact (matching pattern) into path/<name>, or into path with merge-multiple.
set -euo pipefail
shopt -s nullglob dotglob

fail() { echo "::error::$*"; exit 1; }

store="${HARNESS_ARTIFACT_DIR:-}"
[[ -n "$store" ]] || fail "HARNESS_ARTIFACT_DIR is not set: run this stand-in through harness/runners.py"
[[ -z "$INPUT_ARTIFACT_IDS" ]] || fail "the stand-in does not support artifact-ids: use name or pattern"
destination="${INPUT_PATH:-$GITHUB_WORKSPACE}"
destination="${destination/#\~/$HOME}"
mkdir -p "$destination"
destination="$(cd "$destination" && pwd)"

if [[ -n "$INPUT_NAME" ]]; then
  [[ -d "$store/$INPUT_NAME" ]] || fail "Artifact not found for name: $INPUT_NAME"
  cp -a "$store/$INPUT_NAME/." "$destination/"
  echo "Artifact $INPUT_NAME was downloaded to $destination"
else
  for artifact in "$store"/*/; do
    name="$(basename "$artifact")"
    # shellcheck disable=SC2053 # pattern is a glob on purpose
    [[ -z "$INPUT_PATTERN" || "$name" == $INPUT_PATTERN ]] || continue
    target="$destination"
    [[ "$INPUT_MERGE_MULTIPLE" == true ]] || target="$destination/$name"
    mkdir -p "$target"
    cp -a "$artifact." "$target/"
    echo "Artifact $name was downloaded to $target"
  done
fi
echo "download-path=$destination" >>"$GITHUB_OUTPUT"
