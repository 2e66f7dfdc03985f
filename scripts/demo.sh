#!/usr/bin/env bash
# Generate a service from this template and run it in its scratch container, the newcomer's path:
#   bash scripts/demo.sh [key=value ...]      e.g. bash scripts/demo.sh project_name="Billing API" port=9090
# Answers not given take their defaults; go_version defaults to the Go installed here, so that
# `make test` works in the new project too. Installs what it needs: a virtual environment with
# cookiecutter, and a Docker engine (Debian's docker.io, needs root when missing). When the
# builder image golang:<version>-alpine is not present, it assembles a local stand-in with the
# same contract from the installed Go (see tests/support/golang_image.py), so no registry is needed.
# The project lands in build/demo/<slug>; the container keeps running until you stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
say() { printf '\033[1m==> %s\033[0m (%ss)\n' "$*" "$((SECONDS - start))"; }

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check .
bash scripts/docker-engine.sh
go_version="$(go env GOVERSION)"
go_version="${go_version#go}"
.venv/bin/python -m tests.support.golang_image >/dev/null

say "Generating the project"
answered=$SECONDS
rm -rf build/demo
.venv/bin/cookiecutter --no-input --output-dir build/demo . "go_version=$go_version" "$@"
project="$(find build/demo -mindepth 1 -maxdepth 1 -type d | head -n 1)"
slug="$(basename "$project")"

say "Building the image $slug:demo (DOCKER_BUILDKIT=1 docker build)"
DOCKER_BUILDKIT=1 /usr/bin/docker build --quiet --tag "$slug:demo" "$project" >/dev/null
/usr/bin/docker image ls "$slug:demo"

say "Running it read-only, as 65534, with no capabilities"
port="$(sed -n 's/^EXPOSE //p' "$project/Dockerfile")"
/usr/bin/docker rm --force "$slug-demo" >/dev/null 2>&1 || true
/usr/bin/docker run --detach --rm --name "$slug-demo" --network host \
  --read-only --cap-drop ALL --security-opt no-new-privileges \
  --health-start-period 0s --health-interval 1s "$slug:demo" >/dev/null
for _ in $(seq 60); do
  health="$(/usr/bin/docker inspect --format '{{.State.Health.Status}}' "$slug-demo")"
  [[ "$health" == healthy ]] && break
  sleep 1
done
[[ "$health" == healthy ]] || { /usr/bin/docker logs "$slug-demo"; echo "container is $health" >&2; exit 1; }

say "Healthy, $((SECONDS - answered))s after the answers. GET http://localhost:$port/"
curl --silent --show-error "http://localhost:$port/"
cat <<EOT

Project: $project    (cd there and run: make help)
Logs:    docker logs -f $slug-demo
Stop:    docker stop $slug-demo     (SIGTERM: graceful shutdown, exit 0)
EOT
