#!/usr/bin/env bash
# actions/setup-go's contract, offline: resolve the version from the inputs as the action does, fetch
# that release through the Go module proxy with the go command already on PATH, and put it first.
set -euo pipefail

fail() { echo "::error::$*"; exit 1; }

# The version that go-version-file names, read as setup-go reads it: go.mod and go.work give their
# toolchain line (unless GOTOOLCHAIN=local), else their go line; .tool-versions its golang entry;
# any other file its whole content.
version_from_file() {
  local file="$1" found=""
  [[ -f "$file" ]] || fail "The specified go version file at: $file does not exist"
  case "$(basename "$file")" in
    go.mod | go.work)
      if [[ "${GOTOOLCHAIN:-}" != local ]]; then
        found="$(sed -n 's/^toolchain go\(1\.[0-9][0-9]*\(\.[0-9][0-9]*\|rc[0-9][0-9]*\)\{0,1\}\).*/\1/p' "$file" | head -n 1)"
      fi
      [[ -n "$found" ]] || found="$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$file" | head -n 1)"
      ;;
    .tool-versions) found="$(awk '$1 == "golang" { print $2; exit }' "$file")" ;;
    *) found="$(tr -d '[:space:]' <"$file")" ;;
  esac
  printf '%s\n' "$found"
}

# The newest release of a 1.N line, from the toolchain versions that the module proxy lists.
newest_release() {
  local line="$1" arch="$2"
  (cd / && GOFLAGS='' GOTOOLCHAIN=local go list -m -versions golang.org/toolchain) | tr ' ' '\n' |
    sed -n "s/^v0\.0\.1-go\(${line//./\\.}\.[0-9][0-9]*\)\.linux-$arch\$/\1/p" | sort -V | tail -n 1
}

command -v go >/dev/null || fail "the stand-in fetches Go with the go command: none is on PATH"
host_arch="$(go env GOHOSTARCH)"
case "${INPUT_ARCHITECTURE:-}" in
  "" | "$host_arch") ;;
  x64) [[ "$host_arch" == amd64 ]] || fail "architecture $INPUT_ARCHITECTURE is not the host's ($host_arch)" ;;
  *) fail "architecture $INPUT_ARCHITECTURE is not the host's ($host_arch)" ;;
esac

version="${INPUT_GO_VERSION:-}"
if [[ -n "$version" && -n "${INPUT_GO_VERSION_FILE:-}" ]]; then
  echo "::warning::Both go-version and go-version-file inputs are specified, only go-version will be used"
elif [[ -z "$version" && -n "${INPUT_GO_VERSION_FILE:-}" ]]; then
  version="$(version_from_file "$INPUT_GO_VERSION_FILE")"
  [[ -n "$version" ]] || fail "no Go version in $INPUT_GO_VERSION_FILE"
fi
version="${version#go}"

if [[ -n "$version" ]]; then
  if [[ "$version" =~ ^1\.[0-9]+$ ]]; then
    release="$(newest_release "$version" "$host_arch")"
    [[ -n "$release" ]] || fail "no Go $version.x release in the Go module proxy"
    version="$release"
  fi
  [[ "$version" =~ ^1\.[0-9]+(\.[0-9]+|rc[0-9]+)$ ]] || fail "the stand-in takes an exact Go version (1.N.P) or a 1.N line, not $version"
  echo "Setup go version spec $version"
  goroot="$(GOTOOLCHAIN="go$version" GOFLAGS='' go env GOROOT)" || fail "could not fetch Go $version through the module proxy"
  PATH="$goroot/bin:$PATH"
  echo "$goroot/bin" >>"$GITHUB_PATH"
  echo "Successfully set up Go version $version"
fi
export GOTOOLCHAIN=local
echo "GOTOOLCHAIN=local" >>"$GITHUB_ENV"

gopath_bin="$(go env GOPATH)/bin"
mkdir -p "$gopath_bin"
echo "$gopath_bin" >>"$GITHUB_PATH"

installed="$(go version)"
echo "$installed"
installed="$(awk '{ print $3 }' <<<"$installed")"
if [[ -n "$version" && "$installed" != "go$version" ]]; then
  fail "asked for Go $version, got $installed"
fi
echo "go-version=${installed#go}" >>"$GITHUB_OUTPUT"
