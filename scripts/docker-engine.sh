#!/usr/bin/env bash
# Make sure a local Docker Engine (with BuildKit) is installed and answering.
#
# Idempotent: safe to run repeatedly, and a no-op when an engine already answers.
#   - uses the Docker client that scripts/docker-client.sh chooses (the `docker` on PATH when it
#     has buildx, as with Docker CE or Docker Desktop; else Debian's client with DOCKER_BUILDKIT=1);
#   - installs busybox-static when /bin/busybox is missing (the local
#     golang stand-in image, harness/golang_image.py, needs it);
#   - when no engine answers: installs Debian's docker.io if the client or dockerd is missing,
#     starts dockerd in the background, then waits up to DOCKER_WAIT_SECONDS (default 60) for it.
# Installing packages and starting dockerd need root.
set -euo pipefail
# The chooser of the Docker client (shellcheck checks that file on its own).
# shellcheck source=/dev/null
source "$(dirname "$0")/docker-client.sh"

readonly WAIT_SECONDS="${DOCKER_WAIT_SECONDS:-60}"
readonly DOCKERD_LOG="${TMPDIR:-/tmp}/dockerd.log"
readonly DOCKERD_PIDFILE=/var/run/docker.pid

log() { printf 'docker-engine: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

apt_install() {
  is_root || die "'$*' is missing; run this script as root or run: sudo apt-get install -y $*"
  log "installing $* with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

find_dockerd() { command -v dockerd || true; }

ensure_busybox() {
  if [[ ! -x /bin/busybox ]]; then
    apt_install busybox-static
  fi
}

ensure_docker_io() {
  if ! docker_client >/dev/null 2>&1 || [[ -z "$(find_dockerd)" ]]; then
    apt_install docker.io
  fi
}

daemon_answers() {
  local docker
  docker="$(docker_client 2>/dev/null)" && "$docker" info >/dev/null 2>&1
}

# A dockerd that is still starting up has written its pid file already.
dockerd_running() {
  local pid
  pid="$(cat "$DOCKERD_PIDFILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

start_dockerd() {
  is_root || die "'docker info' fails: dockerd is not running (starting it needs root) or you lack access to its socket"
  local dockerd
  dockerd="$(find_dockerd)"
  [[ -n "$dockerd" ]] || die "dockerd not found on PATH"
  log "starting $dockerd (log: $DOCKERD_LOG)"
  # A daemon outlives this script: it must not keep the caller's descriptors (a held lock, a pipe).
  (close_inherited_descriptors && exec nohup "$dockerd" >>"$DOCKERD_LOG" 2>&1 </dev/null) &
}

# Closes every descriptor above stderr in the current (sub)shell.
close_inherited_descriptors() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd="${fd##*/}"
    if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

wait_for_daemon() {
  local waited=0
  until daemon_answers; do
    if ((waited >= WAIT_SECONDS)); then
      log "last lines of $DOCKERD_LOG:"
      tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
      die "dockerd did not answer within ${WAIT_SECONDS}s"
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

main() {
  ensure_busybox
  if ! daemon_answers; then
    ensure_docker_io
    if dockerd_running; then
      log "dockerd is running but not answering yet; waiting"
    else
      start_dockerd
    fi
    wait_for_daemon
  fi
  local docker
  docker="$(docker_client)"
  echo "docker engine ready: client $docker, server $("$docker" version --format '{{.Server.Version}}')"
}

main "$@"
