#!/usr/bin/env bash
# Install the pinned Go tools that the tests run on generated projects: all of them, or the ones
# named (`install-go-tools.sh golangci-lint actionlint kustomize` for the unit tier).
#
#   golangci-lint  lints every generated variant (gosec among its linters)
#   actionlint     checks the generated GitHub Actions workflow
#   kustomize      builds the generated Kubernetes base
#   cosign         signs and verifies the images that `make publish` pushes (make sign, make verify)
#   act            runs GitHub Actions workflows on the host, offline (harness/runners.py, install-runners.sh)
#   buildkitd and buildctl (BuildKit)  the daemon that `make publish` builds on in the tests, through
#                  docker buildx's remote driver (buildctl only probes it); the buildx plugin itself, and
#                  the Compose plugin that runs generated compose files, are built by harness/docker.py
#                  (python -m harness.docker) into a cache keyed by their versions
#
# Each is built from source with `go install` through the Go module proxy, so
# nothing is downloaded from GitHub. Idempotent: a tool whose binary already
# carries the pinned version is left alone. Binaries go to $GOBIN, or to
# $(go env GOPATH)/bin when GOBIN is unset; put that directory on PATH.
set -euo pipefail

# The pins live in versions.json at the repository's root (go_tools and buildkit), read with
# Python's json module: Python is what runs the template already.
VERSIONS="$(cd "$(dirname "$0")/.." && pwd)/versions.json"
readonly VERSIONS
pin() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["version"])' "$VERSIONS" "$1"; }
# "module version" lines of the tools asked for; an unknown name stops the script.
tool_lines="$(python3 -c '
import json, sys
tools = json.load(open(sys.argv[1]))["go_tools"]
known = [*tools, "buildkit"]
for name in sys.argv[2:]:
    if name not in known:
        sys.exit("install-go-tools: error: unknown tool %r: one of %s" % (name, ", ".join(known)))
for name in sys.argv[2:] or tools:
    if name in tools:
        print(tools[name]["module"], tools[name]["version"])
' "$VERSIONS" "$@")"
mapfile -t TOOLS <<<"$tool_lines"
readonly TOOLS
want_buildkit=false
if (($# == 0)) || [[ " $* " == *" buildkit "* ]]; then want_buildkit=true; fi

# BuildKit's go.mod has exclude directives, which `go install module@version` refuses: its
# commands are built inside the downloaded module instead, with the version stamped in.
readonly BUILDKIT_MODULE="github.com/moby/buildkit"
BUILDKIT_VERSION="$(pin buildkit)"
readonly BUILDKIT_VERSION

log() { printf 'install-go-tools: %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { log "error: the go command is not on PATH"; exit 1; }

gobin="${GOBIN:-$(go env GOPATH)/bin}"

# installed_version BINARY prints the module version a Go binary was built from, or nothing.
installed_version() {
  [[ -x "$1" ]] || return 0
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

for tool in "${TOOLS[@]}"; do
  [[ -n "$tool" ]] || continue
  read -r package version <<<"$tool"
  name="$(basename "$package")"
  [[ "$name" =~ ^v[0-9]+$ ]] && name="$(basename "$(dirname "$package")")"
  if [[ "$(installed_version "$gobin/$name")" == "$version" ]]; then
    log "$name $version already installed"
    continue
  fi
  log "installing $name $version"
  GOBIN="$gobin" go install "$package@$version"
done

# BuildKit: buildctl --version prints "buildctl github.com/moby/buildkit v0.34.2 <revision>".
if [[ "$want_buildkit" == false ]]; then
  :
elif [[ -x "$gobin/buildkitd" && "$("$gobin/buildctl" --version 2>/dev/null | awk '{ print $3 }')" == "$BUILDKIT_VERSION" ]]; then
  log "buildkit $BUILDKIT_VERSION already installed"
else
  log "installing buildctl and buildkitd $BUILDKIT_VERSION"
  source_dir="$(go mod download -json "$BUILDKIT_MODULE@$BUILDKIT_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$source_dir" ]] || { log "error: could not download $BUILDKIT_MODULE@$BUILDKIT_VERSION"; exit 1; }
  (cd "$source_dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags "-X $BUILDKIT_MODULE/version.Version=$BUILDKIT_VERSION" -o "$gobin/" ./cmd/buildctl ./cmd/buildkitd)
fi

echo "Go tools are in $gobin"
