#!/usr/bin/env bash
# What the images tier needs on top of the unit tier (as root on a fresh machine):
#   a Docker engine that answers (docker-engine.sh: Debian's docker.io when no engine is installed,
#                   busybox-static for the shell of the local golang builder image, dockerd started)
#   docker-registry the registry that `make publish` pushes to in the tests
#   runc            the runtime of the tests' buildkitd
#   cosign, BuildKit (versions.json)  sign and push the multi-platform index of `make publish`
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-packages.sh docker-registry:docker-registry runc:runc
bash scripts/install-go-tools.sh cosign buildkit
bash scripts/docker-engine.sh
