#!/usr/bin/env bash
# What the images tier needs on top of the unit tier (as root on a fresh machine):
#   a Docker engine that answers (docker-engine.sh: Debian's docker.io when no engine is installed,
#                   busybox-static for the shell of the local golang builder image, dockerd started)
#   docker-registry the registry that `make publish` pushes to in the tests
#   runc            the runtime of the tests' buildkitd
#   postgresql      Debian's server, which harness/postgres_image.py assembles into the PostgreSQL image
#                   that generated compose files run in the tests (the compose plugin itself is built
#                   by harness/docker.py into a cache keyed by its version, like buildx)
#   cosign, BuildKit (versions.json)  sign and push the multi-platform index of `make publish`
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-packages.sh docker-registry:docker-registry runc:runc /usr/lib/postgresql:postgresql
bash scripts/install-go-tools.sh cosign buildkit
bash scripts/docker-engine.sh
