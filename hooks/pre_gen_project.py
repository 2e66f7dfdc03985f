"""Validate every answer before cookiecutter writes a single file.

An invalid answer ends generation with one line on stderr naming the question,
the value and what is allowed, and exit code 1; cookiecutter then removes the
project directory it had just created, so nothing is left behind.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from typing import Any, NamedTuple

# Every answer, rendered as JSON data (never as code) and read back. Triple single quotes on
# purpose: Jinja's tojson escapes ' as \u0027, so no answer can end this string early.
ANSWERS: dict[str, Any] = json.loads(r'''{{ cookiecutter | tojson }}''')  # fmt: skip

TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off"})
# Control characters, format characters (BOM, bidirectional controls, zero-width joiners: Go refuses
# some in source, and they hide what a name says), lone surrogates, line and paragraph separators.
UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Cookiecutter renders every answer as Jinja, and cruft renders the stored answers again on update:
# an answer that still holds a Jinja delimiter after rendering would be code on the next render.
# Spelled from single braces: this file is itself a Jinja template.
OPEN, CLOSE = "{", "}"
JINJA_DELIMITERS = (OPEN + OPEN, CLOSE + CLOSE, OPEN + "%", "%" + CLOSE, OPEN + "#", "#" + CLOSE)
BOOLEAN_HINT = "true/false, yes/no, y/n or 1/0 (any case)"

# A DNS-1035 label (a Kubernetes Service name): it also starts with a letter, so YAML never reads it as a number.
SLUG = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
SLUG_ALLOWED = "1-63 lowercase letters, digits and dashes, starting with a letter and ending with a letter or digit"
GO_VERSION = re.compile(r"^1\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?$")
MIN_GO_MINOR = 22  # the skeleton uses Go 1.22 routing patterns ("GET /{$}")
METRICS_MIN_GO_MINOR = 26  # prometheus/client_golang v1.25 requires go 1.26
OPENTELEMETRY_MIN_GO_MINOR = 26  # go.opentelemetry.io/otel v1.47 and otelhttp v0.72 require go 1.26
MIN_PORT, MAX_PORT = 1024, 65535  # unprivileged: the service runs as nobody with no capabilities

# A Backstage entity reference: [kind:][namespace/]name, each part within Backstage's own limits
# (kind: a letter then letters and digits; namespace: a DNS label; name: 1-63 of [a-zA-Z0-9]
# separated by -_.). The Backstage Software Template uses the very same pattern.
OWNER = re.compile(
    r"^([a-zA-Z][a-zA-Z0-9]{0,62}:)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]{0,61}[a-zA-Z0-9])?$"
)
LIFECYCLES = ("experimental", "production", "deprecated")
CI_SYSTEMS = ("github", "gitlab", "none")
TEMPLATE_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")

# Module path rules of the go command (golang.org/x/mod/module.CheckPath).
MODULE_PATH_CHARS = re.compile(r"^[A-Za-z0-9._~-]+$")
FIRST_ELEMENT_CHARS = re.compile(r"^[a-z0-9.-]+$")
# go build refuses a package whose directory name (the path's last element) could be read as a flag.
LAST_ELEMENT_START = re.compile(r"^[A-Za-z0-9_]")
GOPKG_IN_VERSION = re.compile(r"\.v(0|[1-9][0-9]*)(-unstable)?$")  # gopkg.in/yaml.v3
WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)


class InvalidAnswer(ValueError):
    """An answer that cannot produce a working project."""

    def __init__(self, question: str, value: object, allowed: str) -> None:
        """Word the error as `question=value is not allowed: allowed`."""
        super().__init__(f"{question}={json.dumps(value, ensure_ascii=False)} is not allowed: {allowed}")


class Answers(NamedTuple):
    """The answers that the checks below turn into typed values."""

    project_slug: str
    module_path: str
    go_minor: int
    port: int
    https_client: bool
    vendor_dependencies: bool
    prometheus_metrics: bool
    opentelemetry: bool
    owner: str
    lifecycle: str
    ci: str
    kubernetes: bool


def check_text(question: str, value: object, max_length: int) -> str:
    """Accept one line of printable text, 1 to max_length characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidAnswer(question, value, "a non-empty line of text")
    if len(value) > max_length:
        raise InvalidAnswer(question, value, f"at most {max_length} characters")
    if any(unicodedata.category(ch) in UNPRINTABLE for ch in value):
        raise InvalidAnswer(
            question, value, "printable characters only (no newlines, tabs, control or invisible format characters)"
        )
    check_not_jinja(question, value)
    return value


def check_not_jinja(question: str, value: str) -> None:
    """Refuse an answer that still holds a Jinja delimiter: the next render (cruft update) would run it."""
    if any(delimiter in value for delimiter in JINJA_DELIMITERS):
        raise InvalidAnswer(question, value, f"no Jinja delimiters ({' '.join(JINJA_DELIMITERS)})")


def check_slug(value: object) -> str:
    """Accept a DNS-1035 label: it names the directory, binary, image and Kubernetes objects."""
    if not isinstance(value, str) or not SLUG.match(value):
        raise InvalidAnswer("project_slug", value, SLUG_ALLOWED)
    return value


def module_path_problem(path: str) -> str | None:
    """Say what the go command would reject in a module path, or None if it is valid."""
    if not path:
        return "it is empty"
    if path.startswith("/") or path.endswith("/"):
        return "it starts or ends with a slash"
    if "//" in path:
        return "it has an empty path element (//)"
    elements = path.split("/")
    for element in elements:
        if not MODULE_PATH_CHARS.match(element):
            return f"path element {element!r} has characters other than ASCII letters, digits and -._~"
        if element.startswith(".") or element.endswith("."):
            return f"path element {element!r} starts or ends with a dot"
        short = element.split(".", 1)[0]
        if short.upper() in WINDOWS_RESERVED:
            return f"path element {element!r} is a reserved Windows file name"
        if re.search(r"~[0-9]+$", short):
            return f"path element {element!r} ends like a Windows short name (~N)"
    if not LAST_ELEMENT_START.match(elements[-1]):
        return f"the last path element {elements[-1]!r} must start with a letter, digit or underscore"
    first = elements[0]
    if first.startswith("-"):
        return "the first path element starts with a dash"
    if "." not in first:
        return "the first path element has no dot (use a domain, e.g. github.com/acme/service)"
    if not FIRST_ELEMENT_CHARS.match(first):
        return "the first path element may only have lowercase letters, digits, dots and dashes"
    if first == "gopkg.in" and not GOPKG_IN_VERSION.search(path):
        return "a gopkg.in path ends with its major version, e.g. gopkg.in/yaml.v3"
    major = re.search(r"/v([0-9.]+)$", path)
    if major and (not major.group(1).isdigit() or major.group(1).startswith("0") or major.group(1) == "1"):
        return f"major version suffix /v{major.group(1)} is invalid (use /v2 or higher, or none)"
    return None


def check_module_path(value: object) -> str:
    """Accept a module path that the go command accepts."""
    problem = module_path_problem(value) if isinstance(value, str) else "it is not text"
    if problem:
        raise InvalidAnswer("module_path", value, f"a Go module path such as github.com/acme/service ({problem})")
    return str(value)


def check_go_version(value: object) -> int:
    """Accept 1.N or 1.N.P with N >= 22 and return N."""
    match = GO_VERSION.match(value) if isinstance(value, str) else None
    if not match or int(match.group(1)) < MIN_GO_MINOR:
        raise InvalidAnswer("go_version", value, f"1.N or 1.N.P with N >= {MIN_GO_MINOR}, e.g. 1.27 or 1.27.4")
    return int(match.group(1))


def check_port(value: object) -> int:
    """Accept a whole number from 1024 to 65535."""
    text = str(value)
    if isinstance(value, bool) or not text.isascii() or not text.isdigit() or not MIN_PORT <= int(text) <= MAX_PORT:
        raise InvalidAnswer("port", value, f"a whole number from {MIN_PORT} to {MAX_PORT}")
    return int(text)


def check_bool(question: str, value: object) -> bool:
    """Accept a JSON boolean or one of the words portals send for one."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidAnswer(question, value, BOOLEAN_HINT)


def check_owner(value: object) -> str:
    """Accept a Backstage entity reference to a group or user, e.g. team-platform or group:default/team-platform."""
    if not isinstance(value, str) or not OWNER.match(value):
        raise InvalidAnswer(
            "owner",
            value,
            "a Backstage entity reference such as team-platform or group:default/team-platform "
            "(name: 1-63 letters and digits separated by - _ or .)",
        )
    return value


def check_choice(question: str, value: object, choices: tuple[str, ...]) -> str:
    """Accept exactly one of the choices."""
    if value not in choices:
        raise InvalidAnswer(question, value, f"one of {', '.join(choices)}")
    return str(value)


def check_template_version(value: object) -> str:
    """Accept the template release as MAJOR.MINOR.PATCH."""
    if not isinstance(value, str) or not TEMPLATE_VERSION.match(value):
        raise InvalidAnswer("version", value, "a template release as MAJOR.MINOR.PATCH, e.g. 1.0.0")
    return value


def check_derived(raw: dict[str, Any], answers: Answers) -> None:
    """Refuse private answers (__x) passed directly: each must be what the public answer gives."""
    derived = {
        "__https_client": answers.https_client,
        "__vendor_dependencies": answers.vendor_dependencies,
        "__prometheus_metrics": answers.prometheus_metrics,
        "__opentelemetry": answers.opentelemetry,
        "__kubernetes": answers.kubernetes,
    }
    for question, value in derived.items():
        if raw.get(question) != str(value):
            public = question.removeprefix("__")
            allowed = f"no value of its own (it is derived from {public}): leave it out"
            raise InvalidAnswer(question, raw.get(question), allowed)


def check_answers(raw: dict[str, Any]) -> Answers:
    """Check every answer and the combinations between them."""
    check_text("project_name", raw["project_name"], max_length=80)
    check_text("description", raw["description"], max_length=200)
    answers = Answers(
        project_slug=check_slug(raw["project_slug"]),
        module_path=check_module_path(raw["module_path"]),
        go_minor=check_go_version(raw["go_version"]),
        port=check_port(raw["port"]),
        https_client=check_bool("https_client", raw["https_client"]),
        vendor_dependencies=check_bool("vendor_dependencies", raw["vendor_dependencies"]),
        prometheus_metrics=check_bool("prometheus_metrics", raw["prometheus_metrics"]),
        opentelemetry=check_bool("opentelemetry", raw["opentelemetry"]),
        owner=check_owner(raw["owner"]),
        lifecycle=check_choice("lifecycle", raw["lifecycle"], LIFECYCLES),
        ci=check_choice("ci", raw["ci"], CI_SYSTEMS),
        kubernetes=check_bool("kubernetes", raw["kubernetes"]),
    )
    check_template_version(raw["version"])
    if answers.prometheus_metrics and answers.go_minor < METRICS_MIN_GO_MINOR:
        raise InvalidAnswer(
            "go_version",
            raw["go_version"],
            f"1.{METRICS_MIN_GO_MINOR} or newer when prometheus_metrics is on (prometheus/client_golang needs it)",
        )
    if answers.opentelemetry and answers.go_minor < OPENTELEMETRY_MIN_GO_MINOR:
        raise InvalidAnswer(
            "go_version",
            raw["go_version"],
            f"1.{OPENTELEMETRY_MIN_GO_MINOR} or newer when opentelemetry is on (go.opentelemetry.io/otel needs it)",
        )
    return answers


def error(message: str) -> None:
    """Print an error line on stderr."""
    print(f"error: {message}", file=sys.stderr)


def main() -> int:
    """Validate the answers; exit 1 with one clear line if any is invalid."""
    try:
        check_derived(ANSWERS, check_answers(ANSWERS))
    except InvalidAnswer as err:
        error(str(err))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
