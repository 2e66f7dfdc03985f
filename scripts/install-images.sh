#!/usr/bin/env bash
# What the images tier needs on top of the unit tier (as root on a fresh machine):
#   docker.io       the engine the image tests build and run on (started by docker-engine.sh)
#   busybox-static  the shell of the local golang builder image (harness/golang_image.py)
#   docker-registry the registry that `make publish` pushes to in the tests
#   runc            the runtime of the tests' buildkitd
#   cosign, BuildKit (versions.json)  sign and push the multi-platform index of `make publish`
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-packages.sh docker.io busybox-static make docker-registry runc
bash scripts/install-go-tools.sh cosign buildkit
bash scripts/docker-engine.sh
