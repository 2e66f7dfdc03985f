r"""Every rule an answer must follow, once: the hook, the sandbox, the generator and the tests import it.

Plain Python, not a Jinja template. The pre-generation hook applies these checks; the generator
(scripts/generate_portal_files.py) writes cookiecutter.json, the Backstage form's parameters and
the README's question table from the same data, so adding a question or an option means editing
this file once. Every pattern is anchored at both ends in a way that reads the same in Python and
in JavaScript: `(?![\\s\\S])` ends the string (`$` would also match before a trailing line break).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

TRUE_WORDS = ("1", "true", "t", "yes", "y", "on")
FALSE_WORDS = ("0", "false", "f", "no", "n", "off")
BOOLEAN_HINT = "true/false, yes/no, y/n or 1/0 (any case)"
# What cookiecutter.json's derived answers render: a public boolean, read in any of the words above.
DERIVED_BOOLEAN = "{{{{ cookiecutter.{key} | string | lower in [{words}] }}}}"

# Cookiecutter's own private keys that its code and cruft add to every context, and the one this
# template sets. Any other `_` key (`_jinja2_env_vars`, `_copy_without_render`, `_new_lines`, ...)
# changes how files or hooks render: no answer, extra context, user config or replay file may set it.
EXTENSIONS = ["local_extensions.SandboxedAnswers"]
RUNTIME_PRIVATE_KEYS = frozenset({"_template", "_output_dir", "_repo_dir", "_checkout", "_commit", "__prompts__"})
# Where this template's releases live: the one location a generated project's .cruft.json and its
# `make template-update` accept. A platform team that forks the template sets its fork's URL here
# (then runs scripts/generate_portal_files.py), before cutting its first release.
TEMPLATE_LOCATION_KEY = "_template_location"
TEMPLATE_LOCATION = "https://github.com/org/go-scratch-service"


def whole(body: str) -> str:
    """A pattern that matches the whole string only, in Python (re.search) and JavaScript alike."""
    return f"^(?:{body})(?![\\s\\S])"


# --- Printable text -------------------------------------------------------------------------------

# Control characters, format characters (BOM, bidirectional controls, zero-width joiners), lone
# surrogates, line and paragraph separators.
UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Characters that are none of those yet render as nothing: Unicode's Default_Ignorable_Code_Point
# (Hangul fillers U+115F U+1160 U+3164 U+FFA0, the combining grapheme joiner U+034F, variation
# selectors U+FE00-U+FE0F and U+E0100-U+E01EF, Khmer and Mongolian fillers, ...) and the blank
# Braille pattern U+2800. Enough to spoof a name in a catalog.
INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
# Spelled from single braces: cookiecutter renders the hook that imports this file, not this file,
# but the form and README carry these too.
OPEN, CLOSE = "{", "}"
JINJA_DELIMITERS = (OPEN + OPEN, CLOSE + CLOSE, OPEN + "%", "%" + CLOSE, OPEN + "#", "#" + CLOSE)


def is_invisible(char: str) -> bool:
    """Whether char is refused in text: unprintable, or rendered as nothing."""
    point = ord(char)
    if unicodedata.category(char) in UNPRINTABLE_CATEGORIES:
        return True
    return any(low <= point <= high for low, high in INVISIBLE_RANGES)


@functools.cache
def refused_ranges() -> list[tuple[int, int]]:
    """The code point ranges is_invisible refuses, merged (the form's character class)."""
    ranges: list[tuple[int, int]] = []
    for point in range(0x110000):
        if is_invisible(chr(point)):
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1] = (ranges[-1][0], point)
            else:
                ranges.append((point, point))
    return ranges


def code_point(point: int) -> str:
    """A code point as a character-class member both Python and JavaScript (u flag) read: the character itself."""
    return "\\" + chr(point) if chr(point) in "\\]^-" else chr(point)


def text_pattern() -> str:
    """One line of printable text with something visible in it and no Jinja delimiter."""
    delimiters = "|".join(d.replace("{", "\\{").replace("}", "\\}") for d in JINJA_DELIMITERS)
    refused = "".join(
        code_point(low) if low == high else f"{code_point(low)}-{code_point(high)}" for low, high in refused_ranges()
    )
    return whole(f"(?=.*\\S)(?!.*(?:{delimiters}))[^{refused}]*")


# --- Structured answers ---------------------------------------------------------------------------

# A DNS-1035 label (a Kubernetes Service name): it also starts with a letter, so YAML never reads it as a number.
SLUG_PATTERN = whole(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
SLUG_ALLOWED = "1-63 lowercase letters, digits and dashes, starting with a letter and ending with a letter or digit"
SLUG_DERIVED_HINT = (
    "it is derived from project_name when left out, so give a name that starts with a letter a-z, "
    "or set project_slug yourself"
)
# The form derives the slug from the name when the slug field stays empty: the name's first letter
# or digit must then be an ASCII letter (slugify drops everything before it).
NAME_FOR_SLUG_PATTERN = "^[^A-Za-z0-9\u0080-\U0010ffff]*[A-Za-z]"

GO_VERSION_PATTERN = whole(r"1\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?")
GO_VERSION_MAX_LENGTH = 16
MIN_GO_MINOR = 22  # the skeleton uses Go 1.22 routing patterns ("GET /{$}")


class GoMinimum(NamedTuple):
    """The oldest Go line an option's dependencies accept, and who needs it."""

    minor: int
    reason: str


def at_least(number: int) -> str:
    """A regex for the decimal numbers >= number, without leading zeros."""
    digits = str(number)
    alternatives = []
    for i, digit in enumerate(digits):
        rest = len(digits) - i - 1
        low = int(digit) + (0 if rest == 0 else 1)
        if low <= 9 and not (i == 0 and low == 0):
            alternatives.append(digits[:i] + f"[{low}-9]" + "[0-9]" * rest)
    alternatives.append(f"[1-9][0-9]{{{len(digits)},}}")
    return "|".join(alternatives)


def go_line_pattern(minor: int) -> str:
    """The form's pattern for 1.N or 1.N.P with N >= minor."""
    return whole(f"1\\.(?:{at_least(minor)})(?:\\.(?:0|[1-9][0-9]*))?")


MIN_PORT, MAX_PORT = 1024, 65535  # unprivileged: the service runs as nobody with no capabilities

# A Backstage entity reference: [kind:][namespace/]name, each part within Backstage's own limits
# (kind: a letter then letters and digits; namespace: a DNS label; name: 1-63 of [a-zA-Z0-9]
# separated by -_.).
OWNER_PATTERN = whole(
    r"([a-zA-Z][a-zA-Z0-9]{0,62}:)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]{0,61}[a-zA-Z0-9])?"
)
LIFECYCLES = ("experimental", "production", "deprecated")
CI_SYSTEMS = ("github", "gitlab", "none")
DATABASES = ("none", "postgres")  # a choice, so that other engines can follow
APIS = ("none", "openapi")  # a choice, so that other contracts (protobuf, say) can follow
# With postgres the CA bundle stays: the hook refuses https_client=false and the form asks for it, in these words.
POSTGRES_NEEDS_HTTPS = "true when database is postgres (PostgreSQL over TLS needs the CA bundle in the image)"
TEMPLATE_VERSION_PATTERN = whole(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
# The release being cut: its tag is v<TEMPLATE_RELEASE> and CHANGELOG.md has its entry.
TEMPLATE_RELEASE = "1.0.0"
# A template location: an https URL without user, password or query, or an absolute local path
# (a team's mirror on disk); never a URL that carries credentials or a git transport that runs commands.
TEMPLATE_LOCATION_PATTERN = whole(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)+|/[A-Za-z0-9._~/+-]+")
TEMPLATE_LOCATION_MAX_LENGTH = 300

# --- Module paths (golang.org/x/mod/module.CheckPath) ---------------------------------------------

MODULE_PATH_MAX_LENGTH = 300
WINDOWS_RESERVED = ("CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10)))


def case_insensitive(word: str) -> str:
    """A regex for word in any case, without the i flag (the form's patterns have no flags)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def module_path_pattern() -> str:
    """The go command's module path rules as one pattern: what the hook and the form both apply."""
    reserved = "|".join(case_insensitive(name) for name in WINDOWS_RESERVED)
    element_guard = f"(?!(?:{reserved})(?:\\.|/|$))(?![^/.]*~[0-9]+(?:\\.|/|$))"
    middle = f"/{element_guard}[A-Za-z0-9_~-](?:[A-Za-z0-9._~-]*[A-Za-z0-9_~-])?"
    last = f"/{element_guard}[A-Za-z0-9_](?:[A-Za-z0-9._~-]*[A-Za-z0-9_~-])?"
    host = "[a-z0-9](?:[a-z0-9.-]*[a-z0-9-])?"
    return whole(
        r"(?!.*/v(?:[0-9]*\.[0-9.]*|0[0-9]*|1)$)"
        r"(?!gopkg\.in(?:/|$)(?!.*\.v(?:0|[1-9][0-9]*)(?:-unstable)?$))"
        f"{element_guard}(?=[^/]*\\.){host}(?:(?:{middle})*{last})?"
    )


MODULE_PATH_CHARS = re.compile(r"[A-Za-z0-9._~-]+")
FIRST_ELEMENT_CHARS = re.compile(r"[a-z0-9.-]+")
LAST_ELEMENT_START = re.compile(r"[A-Za-z0-9_]")
GOPKG_IN_VERSION = re.compile(r"\.v(0|[1-9][0-9]*)(-unstable)?\Z")  # gopkg.in/yaml.v3

# What the repository picker may hand on: its owner and name become module path elements.
REPO_URL_PATTERN = whole(
    r"github\.com\?owner=[A-Za-z0-9][-A-Za-z0-9]{0,38}&repo=[A-Za-z0-9_][-A-Za-z0-9_.]{0,99}(?<!\.)"
)
REPO_URL_MAX_LENGTH = 160


# --- The questions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """What makes a question an option of the Go project: the tests combine its values pairwise with the others'."""

    short: str  # its name in test ids
    on: Any = True  # the answer that turns it on: a boolean's true, or one of a choice's values
    go_minimum: GoMinimum | None = None  # the oldest Go its dependencies accept, when newer than MIN_GO_MINOR
    # Its Go requirements, "module version", the one place of their versions: scripts/go-modules.py writes them,
    # with what they need in every combination of the options that bring some, into the skeleton's go.mod and go.sum.
    go_modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """One question: its default, its prompt, how the form and README present it, and whether it is an option."""

    key: str
    default: Any
    prompt: str
    title: str
    page: str
    allowed: str  # the README's "Allowed" column
    readme_default: str
    kind: str = "text"  # text, slug, module_path, go_version, port, boolean, choice, owner, release (its check)
    max_length: int | None = None
    form: dict[str, Any] = field(default_factory=dict)  # extra form keys (ui:...)
    option: Option | None = None

    @property
    def values(self) -> tuple[Any, ...]:
        """The values an option takes in the combinations the tests bake, its default first."""
        return (self.default, not self.default) if self.kind == "boolean" else tuple(self.default)

    def is_on(self, value: object) -> bool:
        """Whether value (a checked answer) turns the option on."""
        return self.option is not None and value == self.option.on

    def jinja_test(self, on: bool = True) -> str:
        """The skeleton's Jinja test that the option is on (or off): a boolean reads its derived __ answer."""
        assert self.option is not None, self.key
        key, value = (f"__{self.key}", "True") if self.kind == "boolean" else (self.key, self.option.on)
        return f"cookiecutter.{key} {'==' if on else '!='} '{value}'"


SERVICE, GO, DELIVERY = "Service", "Go and container image", "Delivery"
TEXT_ALLOWED = (
    "one line of printable text, up to {n} characters: no control, line-break, invisible or blank-rendering "
    "characters (BOM, bidirectional controls, zero-width, Hangul fillers, variation selectors), no Jinja "
    "delimiters (`{{{{ }}}} {{% %}} {{# #}}`)"
)

QUESTIONS: tuple[Question, ...] = (
    Question(
        "project_name",
        "Go Scratch Service",
        "Human-readable name of the service",
        "Name",
        SERVICE,
        TEXT_ALLOWED.format(n=80),
        "`Go Scratch Service`",
        max_length=80,
        form={"ui:autofocus": True},
    ),
    Question(
        "project_slug",
        "{{ cookiecutter.project_name | slugify(max_length=63) }}",
        "Short name for the directory, binary, image and Kubernetes objects (lowercase letters, digits, dashes)",
        "Slug",
        SERVICE,
        "DNS-1035 label (a Kubernetes Service name): 1-63 of `a-z 0-9 -`, starting with a letter, ending "
        "alphanumeric; names the directory, binary, image and Kubernetes objects. Left out, it is derived from "
        "`project_name`, which must then start with a letter",
        "`project_name`, slugified",
        kind="slug",
        max_length=63,
        form={"ui:help": "Leave empty to derive it from the name (which must then start with a letter a-z)."},
    ),
    Question(
        "description",
        "A small HTTP service written in Go and shipped in a scratch container.",
        "One sentence describing what the service does",
        "Description",
        SERVICE,
        "like `project_name`, up to 200 characters",
        "a sentence",
        max_length=200,
    ),
    Question(
        "module_path",
        "github.com/example/{{ cookiecutter.project_slug }}",
        "Go module path (where the code will live, e.g. github.com/acme/billing)",
        "Go module path",
        GO,
        f"a Go module path that `go mod init`, `go build` and `go get` accept, up to {MODULE_PATH_MAX_LENGTH} "
        "characters (its last element starts with a letter, digit or `_`; `/vN` only for N >= 2); a `/vN` suffix "
        "is left out of the source links",
        "`github.com/example/<slug>`",
        kind="module_path",
        max_length=MODULE_PATH_MAX_LENGTH,
        form={"ui:help": "Leave empty to use the repository chosen on the last page (host/owner/name)."},
    ),
    Question(
        "go_version",
        "1.27.3",
        f"Go version for go.mod and the build image (1.{MIN_GO_MINOR} or newer, e.g. 1.27 or 1.27.4)",
        "Go version",
        GO,
        f"`1.N` or `1.N.P` with N >= {MIN_GO_MINOR}; sets go.mod's `go` line and the Dockerfile's builder image "
        "`golang:<go_version>-alpine` (the default: a release clean in the Go vulnerability database; CI runs the "
        "builder image's Go) (`1.N` becomes `go 1.N.0` there, which dependencies that need a release of that line "
        "accept)",
        "`1.27.3`",
        kind="go_version",
        max_length=GO_VERSION_MAX_LENGTH,
    ),
    Question(
        "port",
        "8080",
        f"TCP port the service listens on ({MIN_PORT}-{MAX_PORT})",
        "Port",
        GO,
        f"{MIN_PORT}-{MAX_PORT} (the service runs unprivileged, with no capabilities)",
        "`8080`",
        kind="port",
    ),
    Question(
        "https_client",
        True,
        "Will the service make HTTPS calls? (keeps the CA bundle in the image)",
        "HTTPS client",
        GO,
        "keep the CA bundle in the image",
        "`true`",
        kind="boolean",
        option=Option("https"),
    ),
    Question(
        "vendor_dependencies",
        False,
        "Vendor Go dependencies into vendor/ (builds without network)?",
        "Vendor dependencies",
        GO,
        "vendor the dependencies; the image then builds with `-mod=vendor` and no network",
        "`false`",
        kind="boolean",
        form={
            "ui:help": "Portals run no hooks, so run `go mod vendor` and commit vendor/ before the first image build."
        },
        option=Option("vendor"),
    ),
    Question(
        "prometheus_metrics",
        False,
        "Expose Prometheus metrics on /metrics, on an admin port of its own?",
        "Prometheus metrics",
        GO,
        "`/metrics` with prometheus/client_golang on an admin port, `METRICS_PORT` (9090, or 9091 when `port` is 9090)",
        "`false`",
        kind="boolean",
        option=Option(
            "metrics",
            go_minimum=GoMinimum(26, "prometheus/client_golang v1.25 needs it"),
            go_modules=("github.com/prometheus/client_golang v1.25.0",),
        ),
    ),
    Question(
        "opentelemetry",
        False,
        "Trace requests with OpenTelemetry (OTLP over HTTP, configured by OTEL_* variables)?",
        "OpenTelemetry tracing",
        GO,
        "a server span per request (`otelhttp`, W3C trace context), exported over OTLP/HTTP as the standard "
        "`OTEL_*` variables say; `trace_id` and `span_id` in the request's log line",
        "`false`",
        kind="boolean",
        option=Option(
            "otel",
            go_minimum=GoMinimum(26, "go.opentelemetry.io/otel v1.47 and otelhttp v0.72 need it"),
            go_modules=(
                "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp v0.72.0",
                "go.opentelemetry.io/otel v1.47.0",
                "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp v1.47.0",
                "go.opentelemetry.io/otel/sdk v1.47.0",
                "go.opentelemetry.io/otel/trace v1.47.0",
            ),
        ),
    ),
    Question(
        "database",
        list(DATABASES),
        "Database the service uses (postgres: pgx pool, embedded goose migrations, a sqlc example)",
        "Database",
        GO,
        "`none`, `postgres` (pgx v5 pool from `DATABASE_URL`, migrations embedded and applied by `-migrate`, "
        f"a `/notes` example from sqlc); `https_client`: {POSTGRES_NEEDS_HTTPS}",
        f"`{DATABASES[0]}`",
        kind="choice",
        form={"ui:help": f"HTTPS client: {POSTGRES_NEEDS_HTTPS}."},
        option=Option(
            "db",
            on="postgres",
            go_minimum=GoMinimum(26, "goose v3.30 needs it"),
            go_modules=("github.com/jackc/pgx/v5 v5.13.0", "github.com/pressly/goose/v3 v3.30.1"),
        ),
    ),
    Question(
        "api",
        list(APIS),
        "API contract (openapi: the server is generated from an OpenAPI description that checks every request)",
        "API contract",
        GO,
        "`none`, `openapi` (`api/openapi.yaml` describes every endpoint; oapi-codegen's strict server is generated "
        "from it, every request is checked against it, CI lints it and refuses breaking changes, the catalog "
        "gets a `kind: API`)",
        f"`{APIS[0]}`",
        kind="choice",
        option=Option(
            "api",
            on="openapi",
            go_minimum=GoMinimum(26, "oapi-codegen/runtime v1.9.0 needs it"),
            go_modules=("github.com/getkin/kin-openapi v0.153.0", "github.com/oapi-codegen/runtime v1.9.0"),
        ),
    ),
    Question(
        "owner",
        "team-platform",
        "Owner in the service catalog (a Backstage group or user, e.g. team-platform or group:default/team-platform)",
        "Owner",
        SERVICE,
        "Backstage owner (`team-platform` or `group:default/team-platform`)",
        "`team-platform`",
        kind="owner",
        form={"ui:field": "OwnerPicker", "ui:options": {"catalogFilter": {"kind": ["Group", "User"]}}},
    ),
    Question(
        "lifecycle",
        list(LIFECYCLES),
        "Lifecycle stage in the service catalog",
        "Lifecycle",
        SERVICE,
        ", ".join(f"`{v}`" for v in LIFECYCLES),
        f"`{LIFECYCLES[0]}`",
        kind="choice",
    ),
    Question(
        "ci",
        list(CI_SYSTEMS),
        "Continuous integration to set up (with automated dependency updates)",
        "Continuous integration",
        DELIVERY,
        "`github` (Actions + Dependabot), `gitlab` (GitLab CI + Renovate), `none`",
        f"`{CI_SYSTEMS[0]}`",
        kind="choice",
    ),
    Question(
        "kubernetes",
        True,
        "Add Kubernetes manifests (a kustomize base in deploy/kubernetes)?",
        "Kubernetes",
        DELIVERY,
        "add a kustomize base in `deploy/kubernetes/`",
        "`true`",
        kind="boolean",
    ),
    Question(
        "version",
        TEMPLATE_RELEASE,
        "Template release the project is made from (recorded in .cruft.json; `make template-update` moves it)",
        "Template release",
        "",  # not a form field: the form passes the release as it is
        "the release being rendered, `MAJOR.MINOR.PATCH` (tag `vMAJOR.MINOR.PATCH`), and nothing else: it records "
        "the release in `.cruft.json`, and `make template-update` moves it to the release it applies",
        f"`{TEMPLATE_RELEASE}`",
        kind="release",
    ),
)
BOOLEAN_KEYS = tuple(q.key for q in QUESTIONS if q.kind == "boolean")
DERIVED_KEYS = tuple(f"__{key}" for key in BOOLEAN_KEYS)
# The options, by key: what the tests combine pairwise (harness/project.py) and scripts/go-modules.py reads.
OPTIONS = {q.key: q for q in QUESTIONS if q.option is not None}


def derived_expression(key: str) -> str:
    """cookiecutter.json's expression for __key: the public boolean, read in any of TRUE_WORDS."""
    return DERIVED_BOOLEAN.format(key=key, words=", ".join(f"'{w}'" for w in TRUE_WORDS))


# --- The checks -----------------------------------------------------------------------------------

SLUG = re.compile(SLUG_PATTERN)
GO_VERSION = re.compile(GO_VERSION_PATTERN)
OWNER = re.compile(OWNER_PATTERN)
TEMPLATE_VERSION = re.compile(TEMPLATE_VERSION_PATTERN)
MODULE_PATH = re.compile(module_path_pattern())


class InvalidAnswer(ValueError):
    """An answer that cannot produce a working project."""

    def __init__(self, question: str, value: object, allowed: str) -> None:
        """Word the error as `question=value is not allowed: allowed`."""
        super().__init__(f"{question}={json.dumps(value, ensure_ascii=False)} is not allowed: {allowed}")


def check_text(question: str, value: object, max_length: int) -> str:
    """Accept one line of visible, printable text, 1 to max_length characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidAnswer(question, value, "a non-empty line of text")
    if len(value) > max_length:
        raise InvalidAnswer(question, value, f"at most {max_length} characters")
    if any(is_invisible(ch) for ch in value):
        raise InvalidAnswer(
            question,
            value,
            "printable, visible characters only (no newlines, tabs, control, format or blank-rendering characters)",
        )
    check_not_jinja(question, value)
    return value


def check_not_jinja(question: str, value: str) -> None:
    """Refuse an answer that still holds a Jinja delimiter: the next render (cruft update) would run it."""
    if any(delimiter in value for delimiter in JINJA_DELIMITERS):
        raise InvalidAnswer(question, value, f"no Jinja delimiters ({' '.join(JINJA_DELIMITERS)})")


def derived_slug(name: object) -> str | None:
    """The slug cookiecutter.json derives from a name (python-slugify comes with cookiecutter)."""
    try:
        from slugify import slugify  # only for the wording of an error
    except ImportError:
        return None
    return slugify(name, max_length=63) if isinstance(name, str) else None


def check_slug(value: object, name: object = None) -> str:
    """Accept a DNS-1035 label: it names the directory, binary, image and Kubernetes objects."""
    if not isinstance(value, str) or not SLUG.search(value):
        hint = f" ({SLUG_DERIVED_HINT})" if name is not None and value == derived_slug(name) else ""
        raise InvalidAnswer("project_slug", value, SLUG_ALLOWED + hint)
    return value


def module_path_problem(path: str) -> str | None:
    """Say what the go command would reject in a module path, or None if it is valid."""
    if not path:
        return "it is empty"
    if len(path) > MODULE_PATH_MAX_LENGTH:
        return f"it is longer than {MODULE_PATH_MAX_LENGTH} characters"
    if path.startswith("/") or path.endswith("/"):
        return "it starts or ends with a slash"
    if "//" in path:
        return "it has an empty path element (//)"
    elements = path.split("/")
    for element in elements:
        if not MODULE_PATH_CHARS.fullmatch(element):
            return f"path element {element!r} has characters other than ASCII letters, digits and -._~"
        if element.startswith(".") or element.endswith("."):
            return f"path element {element!r} starts or ends with a dot"
        short = element.split(".", 1)[0]
        if short.upper() in WINDOWS_RESERVED:
            return f"path element {element!r} is a reserved Windows file name"
        if re.search(r"~[0-9]+\Z", short):
            return f"path element {element!r} ends like a Windows short name (~N)"
    if not LAST_ELEMENT_START.match(elements[-1]):
        return f"the last path element {elements[-1]!r} must start with a letter, digit or underscore"
    first = elements[0]
    if first.startswith("-"):
        return "the first path element starts with a dash"
    if "." not in first:
        return "the first path element has no dot (use a domain, e.g. github.com/acme/service)"
    if not FIRST_ELEMENT_CHARS.fullmatch(first):
        return "the first path element may only have lowercase letters, digits, dots and dashes"
    if first == "gopkg.in" and not GOPKG_IN_VERSION.search(path):
        return "a gopkg.in path ends with its major version, e.g. gopkg.in/yaml.v3"
    major = re.search(r"/v([0-9.]+)\Z", path)
    if major and (not major.group(1).isdigit() or major.group(1).startswith("0") or major.group(1) == "1"):
        return f"major version suffix /v{major.group(1)} is invalid (use /v2 or higher, or none)"
    if not MODULE_PATH.search(path):
        return "the go command would refuse it"
    return None


def check_module_path(value: object) -> str:
    """Accept a module path that the go command accepts."""
    problem = module_path_problem(value) if isinstance(value, str) else "it is not text"
    if problem:
        raise InvalidAnswer("module_path", value, f"a Go module path such as github.com/acme/service ({problem})")
    return str(value)


def check_go_version(value: object) -> int:
    """Accept 1.N or 1.N.P with N >= MIN_GO_MINOR and return N."""
    match = GO_VERSION.search(value) if isinstance(value, str) and len(value) <= GO_VERSION_MAX_LENGTH else None
    if not match or int(match.group(1)) < MIN_GO_MINOR:
        raise InvalidAnswer("go_version", value, f"1.N or 1.N.P with N >= {MIN_GO_MINOR}, e.g. 1.27 or 1.27.4")
    return int(match.group(1))


def check_port(value: object) -> int:
    """Accept a whole number from MIN_PORT to MAX_PORT."""
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
    if not isinstance(value, str) or not OWNER.search(value):
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
    """Accept the release being rendered, as MAJOR.MINOR.PATCH: the answer records it, it is no choice."""
    if not isinstance(value, str) or not TEMPLATE_VERSION.search(value):
        raise InvalidAnswer("version", value, f"a template release as MAJOR.MINOR.PATCH, e.g. {TEMPLATE_RELEASE}")
    if value != TEMPLATE_RELEASE:
        raise InvalidAnswer(
            "version",
            value,
            f"{TEMPLATE_RELEASE}, the release being rendered (to update a project, run make template-update, or "
            f'cruft update --variables-to-update \'{OPEN}"version": "{TEMPLATE_RELEASE}"{CLOSE}\')',
        )
    return value


TEMPLATE_LOCATION_RE = re.compile(TEMPLATE_LOCATION_PATTERN)


def redacted_location(value: object) -> object:
    """A location for an error line: any user and password in a URL replaced by ***."""
    return re.sub(r"(://)[^/@]*@", r"\1***@", value) if isinstance(value, str) else value


def check_location_shape(value: object) -> str:
    """Accept a location an updater may fetch: an https URL without credentials, or an absolute local path."""
    if (
        not isinstance(value, str)
        or len(value) > TEMPLATE_LOCATION_MAX_LENGTH
        or not TEMPLATE_LOCATION_RE.search(value)
        or "/../" in f"{value}/"
    ):
        raise InvalidAnswer(
            TEMPLATE_LOCATION_KEY,
            redacted_location(value),
            "the template's own location: an https:// URL with no user, password, query or fragment "
            "(e.g. https://github.com/acme/go-scratch-service), or an absolute local path",
        )
    return value


def check_template_location(value: object) -> str:
    """Accept only the template's own location, TEMPLATE_LOCATION: never one from the answers or a config."""
    check_location_shape(value)
    if value != TEMPLATE_LOCATION:
        raise InvalidAnswer(
            TEMPLATE_LOCATION_KEY,
            redacted_location(value),
            f"the template's own location, {json.dumps(TEMPLATE_LOCATION)} (TEMPLATE_LOCATION in hooks/rules.py): "
            "it is no answer, leave it out",
        )
    return str(value)


def check_private_keys(raw: dict[str, Any]) -> None:
    """Refuse any cookiecutter setting (`_` key) that this template does not set itself, from any source."""
    for key, value in raw.items():
        if not key.startswith("_") or key in RUNTIME_PRIVATE_KEYS or key in DERIVED_KEYS:
            continue
        if key == TEMPLATE_LOCATION_KEY:
            check_location_shape(value)  # whether it is the template's own: check_template_location
            continue
        if key == "_extensions" and value == EXTENSIONS:
            continue
        allowed = (
            f"nothing but {json.dumps(EXTENSIONS)} (the sandbox)"
            if key == "_extensions"
            else "no value: answers may not set cookiecutter's private settings, leave it out"
        )
        raise InvalidAnswer(key, value, allowed)
    if raw.get("_extensions") != EXTENSIONS:
        raise InvalidAnswer("_extensions", raw.get("_extensions"), f"{json.dumps(EXTENSIONS)} (the sandbox)")


# Each kind of question's check, given the question and every raw answer; it returns the answer typed.
CHECKS: dict[str, Callable[[Question, dict[str, Any]], Any]] = {
    "text": lambda q, raw: check_text(q.key, raw[q.key], max_length=q.max_length or 0),
    "slug": lambda q, raw: check_slug(raw[q.key], raw["project_name"]),
    "module_path": lambda q, raw: check_module_path(raw[q.key]),
    "go_version": lambda q, raw: check_go_version(raw[q.key]),
    "port": lambda q, raw: check_port(raw[q.key]),
    "boolean": lambda q, raw: check_bool(q.key, raw[q.key]),
    "choice": lambda q, raw: check_choice(q.key, raw[q.key], tuple(q.default)),
    "owner": lambda q, raw: check_owner(raw[q.key]),
    "release": lambda q, raw: check_template_version(raw[q.key]),
}


class Answers(Mapping[str, Any]):
    """The checked answers by question key, typed by their checks; read as attributes too (answers.database)."""

    _values: dict[str, Any]

    def __init__(self, values: dict[str, Any]) -> None:
        """Keep a copy of values; nothing changes it afterwards."""
        object.__setattr__(self, "_values", dict(values))

    def __getitem__(self, key: str) -> Any:
        """The answer to the question key."""
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        """The question keys, in QUESTIONS order."""
        return iter(self._values)

    def __len__(self) -> int:
        """How many answers there are."""
        return len(self._values)

    def __getattr__(self, key: str) -> Any:
        """The answer to the question key, as an attribute."""
        try:
            return self.__dict__["_values"][key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: object) -> None:
        """Refuse: checked answers are never changed."""
        raise AttributeError(f"answers are read-only: {key}")

    @property
    def go_minor(self) -> int:
        """N of the Go line 1.N (what go_version's check returns)."""
        return int(self._values["go_version"])


def check_derived(raw: dict[str, Any], answers: Answers) -> None:
    """Refuse derived answers (__x) passed directly: each must be what the public answer gives."""
    for public in BOOLEAN_KEYS:
        question = f"__{public}"
        if raw.get(question) != str(answers[public]):
            allowed = f"no value of its own (it is derived from {public}): leave it out"
            raise InvalidAnswer(question, raw.get(question), allowed)


def check_go_minimums(raw: dict[str, Any], answers: Answers) -> None:
    """Refuse a Go line older than what a chosen option's dependencies need."""
    for key, question in OPTIONS.items():
        minimum = question.option.go_minimum if question.option else None
        if minimum and question.is_on(answers[key]) and answers.go_minor < minimum.minor:
            on = "on" if question.kind == "boolean" else question.option.on
            allowed = f"1.{minimum.minor} or newer when {key} is {on} ({minimum.reason})"
            raise InvalidAnswer("go_version", raw["go_version"], allowed)


def check_database_needs(raw: dict[str, Any], answers: Answers) -> None:
    """Refuse https_client off with postgres: verify-full needs the CA bundle that https_client keeps."""
    if answers.database == "postgres" and not answers.https_client:
        raise InvalidAnswer("https_client", raw["https_client"], POSTGRES_NEEDS_HTTPS)


def check_answers(raw: dict[str, Any]) -> Answers:
    """Check every answer, in the order of QUESTIONS, then the combinations between them."""
    answers = Answers({question.key: CHECKS[question.kind](question, raw) for question in QUESTIONS})
    check_go_minimums(raw, answers)
    check_database_needs(raw, answers)
    return answers


def check_context(raw: dict[str, Any]) -> Answers:
    """Everything the pre-generation hook checks: the settings, the location, the answers, the derived answers."""
    check_private_keys(raw)
    check_template_location(raw.get(TEMPLATE_LOCATION_KEY))
    answers = check_answers(raw)
    check_derived(raw, answers)
    return answers
