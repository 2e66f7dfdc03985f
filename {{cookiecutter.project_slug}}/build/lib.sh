# shellcheck shell=bash
# Shared by the Makefile's recipes and the scripts next to this file (bash; sourced, not run).
#
# The one place where the values from outside are checked: each check refuses a bad value in one
# line, naming it and what is allowed, before anything is built, pushed or written.

# fail prints one error line and stops with exit code 2.
fail() {
  printf 'error: %s\n' "$*" >&2
  exit 2
}

# run_tool BINARY ARGS... replaces the shell with a tool that `go tool -n` has just named in Go's build
# cache. Go writes a tool there on its first use, and for a moment afterwards the file may still be open
# for writing in a process forked meanwhile (Go issue 22315): exec then fails with "Text file busy". A
# failed exec (bash prints a line for it) is tried again for up to 2s; the tool's exit status never is.
run_tool() {
  shopt -s execfail
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    exec "$@"
    sleep 0.2
  done
  fail "could not run $1 ($attempt tries)"
}

# need TOOL HINT stops unless TOOL is on PATH.
need() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed: $2"
}

# refuse NAME ALLOWED reports the variable NAME's value as not allowed.
refuse() {
  fail "$1=\"${!1}\" is not allowed: $2"
}

check_VERSION() {
  if [[ -z "$VERSION" ]]; then
    VERSION="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
  fi
  [[ "$VERSION" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
    refuse VERSION 'an image tag of letters, digits, "_", "." and "-", not starting with "." or "-"'
}

check_IMAGE() {
  [[ "$IMAGE" =~ ^[a-z0-9][a-z0-9./:_-]*$ ]] ||
    refuse IMAGE 'an image name such as ghcr.io/owner/name (lowercase letters, digits, ".", "/", ":", "_", "-")'
}

check_DIGEST() {
  [[ -z "$DIGEST" || "$DIGEST" =~ ^sha256:[0-9a-f]{64}$ ]] || refuse DIGEST 'sha256: and 64 hex digits'
}

check_BINARY() {
  [[ "$BINARY" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] ||
    refuse BINARY 'a file name of letters, digits, "_", "." and "-", not starting with "." or "-"'
}

check_PORT() {
  if [[ ! "$PORT" =~ ^[1-9][0-9]{0,4}$ ]] || ((PORT > 65535)); then
    refuse PORT 'a TCP port, 1-65535'
  fi
}

check_PLATFORMS() {
  [[ "$PLATFORMS" =~ ^[a-z0-9/._-]+(,[a-z0-9/._-]+)*$ ]] ||
    refuse PLATFORMS 'comma-separated platforms such as linux/amd64,linux/arm64'
}

check_SBOM_ATTESTATION() {
  [[ "$SBOM_ATTESTATION" == true || "$SBOM_ATTESTATION" == false ]] || refuse SBOM_ATTESTATION 'true or false'
}

# check NAME... checks each named value (an empty VERSION becomes `git describe`'s).
check() {
  local name
  for name in "$@"; do
    "check_$name"
  done
}

# load_env FILE exports the variables of FILE, a .env file, when it exists: each line is NAME=VALUE
# (or export NAME=VALUE), blank, or a # comment. Values are data: taken as written, one pair of
# surrounding quotes removed, nothing expanded or run. A variable the environment sets already keeps
# its value, unless ENV_FILE_MAY_SET names it (the Makefile's PORT while it is the default). A line
# that is none of these stops with its number, never its text (it may hold a password).
load_env() {
  local file="$1" line name value number=0
  [[ -f "$file" ]] || return 0
  while IFS= read -r line || [[ -n "$line" ]]; do
    number=$((number + 1))
    line="${line%$'\r'}"
    [[ "$line" =~ ^[[:space:]]*(#.*)?$ ]] && continue
    [[ "$line" =~ ^(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] ||
      fail "$file, line $number: want NAME=VALUE, a blank line or a # comment"
    name="${BASH_REMATCH[2]}"
    value="${BASH_REMATCH[3]}"
    if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then
      value="${BASH_REMATCH[1]}"
    fi
    if [[ -n "${!name+set}" && " ${ENV_FILE_MAY_SET:-} " != *" $name "* ]]; then
      continue
    fi
    export "$name=$value"
  done <"$file"
}

# build_args FLAG PREFIX sets the array args to FLAG PREFIXKEY=VALUE for each word of BUILD_ARGS.
build_args() {
  local words word
  args=()
  read -r -d "" -a words <<<"$BUILD_ARGS" || :
  for word in ${words[@]+"${words[@]}"}; do
    [[ "$word" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || fail "BUILD_ARGS word \"$word\" is not allowed: KEY=VALUE"
    args+=("$1" "$2$word")
  done
}

# image_ref checks IMAGE, VERSION and DIGEST and prints IMAGE@DIGEST when DIGEST is given, else IMAGE:VERSION.
image_ref() {
  check IMAGE VERSION DIGEST
  if [[ -n "$DIGEST" ]]; then echo "$IMAGE@$DIGEST"; else echo "$IMAGE:$VERSION"; fi
}
