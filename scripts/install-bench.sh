#!/usr/bin/env bash
# What the benchmarks (bench/) need on top of the images tier: wrk, the HTTP load generator.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-packages.sh wrk:wrk
