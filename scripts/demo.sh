#!/usr/bin/env bash
# Generate a service from this template and run it in its scratch container, the newcomer's path:
#   bash scripts/demo.sh [key=value ...]      e.g. bash scripts/demo.sh project_name="Billing API" port=9090
# Answers not given take their defaults; go_version defaults to the Go installed here, so that
# `make test` works in the new project too. Installs what it needs: a virtual environment with
# cookiecutter, and a Docker engine (Debian's docker.io, needs root when missing). It uses the
# `docker` on PATH when it builds with BuildKit (buildx), else Debian's client with DOCKER_BUILDKIT=1
# (scripts/docker-client.sh). The builder image is the one the generated Dockerfile pins
# (golang:<version>-alpine): the script pulls it, and only when the pull fails (no registry access)
# builds with a local stand-in of the same contract (harness/golang_image.py), named
# go-scratch-service/golang-standin:<version>-alpine and passed as the GOLANG_IMAGE build argument:
# it never takes the official name, so it cannot replace the real image in later builds.
# The project lands in build/demo/<slug>; the container, its port published on 127.0.0.1 only (not on
# the machine's other addresses), keeps running until you stop it, and is removed when it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
# The chooser of the Docker client (shellcheck checks that file on its own).
# shellcheck source=/dev/null
source scripts/docker-client.sh
start=$SECONDS
say() { printf '\033[1m==> %s\033[0m (%ss)\n' "$*" "$((SECONDS - start))"; }

# The toolchain of a stand-in for go.mod's go line ($1): empty for the local Go when it is recent
# enough, else that release (go1.N.P), which the go command fetches through the module proxy.
standin_toolchain() {
  local need="$1" have
  have="$(go env GOVERSION)"
  have="${have#go}"
  if [[ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" == "$need" ]]; then
    return 0
  fi
  [[ "$need" == *.*.* ]] || need="$need.0"
  printf 'go%s\n' "$need"
}

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check .
bash scripts/docker-engine.sh
docker="$(docker_client)"
export DOCKER_BUILDKIT=1
go_version="$(go env GOVERSION)"
go_version="${go_version#go}"

say "Generating the project"
answered=$SECONDS
rm -rf build/demo
.venv/bin/cookiecutter --no-input --output-dir build/demo . "go_version=$go_version" "$@"
project="$(find build/demo -mindepth 1 -maxdepth 1 -type d | head -n 1)"
slug="$(basename "$project")"

# shellcheck disable=SC2016 # $BUILDPLATFORM is literal text of the FROM line
pinned="$(sed -n 's/^FROM --platform=\$BUILDPLATFORM \(.*\) AS golang-builder$/\1/p' "$project/Dockerfile")"
[[ -n "$pinned" ]] || { echo "no pinned builder image in $project/Dockerfile" >&2; exit 1; }
say "Pulling the builder image $pinned"
builder=()
if "$docker" pull --quiet "$pinned" >/dev/null 2>build/demo/pull.log; then
  say "Builder: $pinned, pulled"
else
  toolchain="$(standin_toolchain "$(sed -n 's/^go //p' "$project/go.mod")")"
  standin="$(.venv/bin/python -m harness.golang_image ${toolchain:+"$toolchain"})"
  say "Builder: local stand-in $standin, since the pull failed: $(tail -n 1 build/demo/pull.log)"
  builder=(--build-arg "GOLANG_IMAGE=$standin")
fi

say "Building the image $slug:demo (DOCKER_BUILDKIT=1 $docker build)"
"$docker" build --quiet "${builder[@]}" --tag "$slug:demo" "$project" >/dev/null
"$docker" image ls "$slug:demo"

say "Running it read-only, as 65534, with no capabilities, its port published on 127.0.0.1 only"
port="$(sed -n 's/^EXPOSE //p' "$project/Dockerfile")"
"$docker" rm --force "$slug-demo" >/dev/null 2>&1 || true
"$docker" run --detach --rm --name "$slug-demo" --publish "127.0.0.1:$port:$port" \
  --read-only --cap-drop ALL --security-opt no-new-privileges \
  --health-start-period 0s --health-interval 1s "$slug:demo" >/dev/null
for _ in $(seq 60); do
  health="$("$docker" inspect --format '{{.State.Health.Status}}' "$slug-demo")"
  [[ "$health" == healthy ]] && break
  sleep 1
done
[[ "$health" == healthy ]] || { "$docker" logs "$slug-demo"; echo "container is $health" >&2; exit 1; }

say "Healthy, $((SECONDS - answered))s after the answers. GET http://127.0.0.1:$port/"
curl --silent --show-error "http://127.0.0.1:$port/"
cat <<EOT

Project: $project    (cd there and run: make help)
Logs:    docker logs -f $slug-demo
Stop:    docker stop $slug-demo     (SIGTERM: graceful shutdown, exit 0; --rm then removes the container)
EOT
