#!/usr/bin/env bash
# Choose the Docker client that builds with BuildKit; the scripts source this file and the tests run it.
#   source scripts/docker-client.sh && docker="$(docker_client)"   or   bash scripts/docker-client.sh
# A client qualifies when it has buildx (Docker CE, Docker Desktop: `docker buildx version` works) or
# when it is older than Docker 23, whose built-in builder uses BuildKit with DOCKER_BUILDKIT=1 (Debian's
# docker.io 20.10). A newer client without buildx does not: it refuses DOCKER_BUILDKIT=1 builds.
# Candidates, in order: $DOCKER when set, every `docker` on PATH, then /usr/bin/docker.
# Callers export DOCKER_BUILDKIT=1, which clients with buildx accept as well.

# Print the major version of a client, from `docker --version` (which needs no engine).
docker_client_major() {
  "$1" --version 2>/dev/null | sed -n 's/^Docker version \([0-9][0-9]*\)\..*/\1/p'
}

docker_client_builds_with_buildkit() {
  local major
  "$1" buildx version >/dev/null 2>&1 && return 0
  major="$(docker_client_major "$1")"
  [[ -n "$major" ]] && ((major < 23))
}

# Print the path of the first qualifying client; fail with a message when there is none.
docker_client() {
  local candidate
  local -a candidates=()
  [[ -n "${DOCKER:-}" ]] && candidates+=("$DOCKER")
  mapfile -t -O "${#candidates[@]}" candidates < <(type -ap docker)
  candidates+=(/usr/bin/docker)
  for candidate in "${candidates[@]}"; do
    candidate="$(command -v "$candidate" 2>/dev/null)" || continue
    if docker_client_builds_with_buildkit "$candidate"; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  echo "no Docker client that builds with BuildKit: install buildx (Docker 23+) or Debian's docker.io" >&2
  return 1
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  docker_client
fi
