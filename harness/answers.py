"""The answers the tests share: the template's own defaults and the tables several test modules use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.template import TEMPLATE_DIR

COOKIECUTTER_JSON: dict[str, Any] = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
SLUG = "go-scratch-service"  # the slug of the default project_name
NOBODY = 65534  # the numeric user and group the generated image and Deployment run as

# Module paths and whether Go accepts them (golang.org/x/mod's CheckPath): the hook must agree.
MODULE_PATHS = {
    "github.com/acme/service": True,
    "example.com/a/b/c": True,
    "example.com/service/v2": True,
    "example.com/service/v10": True,
    "go.example.org/Mixed_Case.name~tilde": True,
    "xn--caf-dma.example/service": True,
    "example.com": True,
    "service": False,
    "Example.com/service": False,
    "example.com/service/v1": False,
    "example.com/service/v0": False,
    "example.com/service/v02": False,
    "example.com/.hidden": False,
    "example.com/trailing.": False,
    "example.com/a//b": False,
    "example.com/a/": False,
    "example.com/a b": False,
    "example.com/aux.txt": False,
    "example.com/progra~1": False,
    "example.com/é": False,
    "-example.com/a": False,
    "exa_mple.com/a": False,
    "example.com/-service": False,
    "example.com/a/-b": False,
    "example.com/-a/b": True,
    "example.com/~": False,
    "example.com/~x": False,
    "example.com/_x": True,
    "example.com/a~b": True,
    "example.com/progra~1.txt": False,
    "example.com/a+b": False,
    "example.com/.a": False,
    "gopkg.in/yaml": False,
    "gopkg.in/yaml.v3": True,
    "example.com/-v2": False,
    "exa.mple.com-/a": True,
}


# --- The answers table ----------------------------------------------------------------------
#
# Every set of answers the tests feed the hook, the Backstage form or a bake, once, with its verdict.
# A case names the bakes it is fed to (`uses`); each test module picks its cases with `cases(use)`.

# Verdicts. The hook's checks and the Backstage form's schema give the same verdict on every case that
# answers a single question the form asks as text.
VALID = "valid"  # the hook accepts it, and the form
REFUSED = "refused"  # the hook refuses it, and the form

ONE_LINE_ERROR = "one-line-error"  # baked alone: refused with one line naming the question and the value
COMBINATION = "combination"  # baked together: refused, naming the question to change
EDGE = "edge"  # baked: an edge value inside the allowed range generates a project
YAML_ROUND_TRIP = "yaml-round-trip"  # baked: every answer parses back from every YAML file as itself
VERBATIM = "verbatim"  # baked: the text reaches README and image label as written, and the code builds
CATALOG = "catalog"  # baked: catalog-info.yaml passes Backstage's own validators


@dataclass(frozen=True)
class AnswerCase:
    """One set of answers, the hook's verdict on it, and the question a refusal names."""

    id: str
    answers: dict[str, Any]
    verdict: str
    uses: frozenset[str]
    question: str | None = None

    @property
    def value(self) -> Any:
        """The answer to the question under test."""
        assert self.question is not None, self.id
        return self.answers[self.question]


def _one(question: str, case: str, value: Any, verdict: str, *uses: str) -> AnswerCase:
    """A case that answers one question (the rest left to the defaults)."""
    return AnswerCase(f"{question}:{case}", {question: value}, verdict, frozenset(uses), question)


def _many(case: str, answers: dict[str, Any], verdict: str, *uses: str, question: str | None = None) -> AnswerCase:
    """A case that answers several questions."""
    return AnswerCase(case, answers, verdict, frozenset(uses), question)


def _edge(case: str, question: str, value: Any) -> AnswerCase:
    """An edge value inside the allowed range, named as the bake that proves it."""
    return AnswerCase(case, {question: value}, VALID, frozenset({EDGE}), question)


# Refused by the hook, and shown by a bake: the hook prints one line naming the question and the value.
_REFUSED = (REFUSED, ONE_LINE_ERROR)
# Refused by the hook's checks, but a bake does not show it as one line naming the value: cookiecutter
# renders a Jinja-looking answer before the hook runs (or fails on it), a "/" in the slug fails before it,
# and a line break other than "\n" splits the printed line.
_REFUSED_BEFORE_BAKE = (REFUSED,)

ANSWERS: list[AnswerCase] = [
    # project_name
    _one("project_name", "plain", "Billing API", VALID),
    _one("project_name", "accents", "Ünïcødé Çafé ✓", VALID),
    _one("project_name", "emoji", "Rocket 🚀", VALID),
    _one("project_name", "cjk", "請求サービス", VALID),
    _one("project_name", "yaml-null", "null", VALID),
    _one("project_name", "yaml-colon", "a: b # c", VALID),
    _one("project_name", "quotes", 'It\'s "fine"', VALID),
    _one("project_name", "percent", "50% off", VALID),
    _one("project_name", "braces", "{x} [y]", VALID),
    _one("project_name", "expression", "{{ 6*7 }}", *_REFUSED_BEFORE_BAKE),
    _one("project_name", "closing", "a }} b", *_REFUSED),
    _one("project_name", "statement", "{% raw %}", *_REFUSED_BEFORE_BAKE),
    _one("project_name", "statement-end", "x %} y", *_REFUSED),
    _one("project_name", "comment", "{# c #}", *_REFUSED_BEFORE_BAKE),
    _one("project_name", "comment-end", "a #} b", *_REFUSED),
    _one("project_name", "bom", "\ufeffName", *_REFUSED),
    _one("project_name", "bidi", "a\u202eb", *_REFUSED),
    _one("project_name", "rtl-override", "admin\u202etxt.exe", *_REFUSED),
    _one("project_name", "isolate", "a\u2066b", *_REFUSED),
    _one("project_name", "zero-width-space", "a\u200bb", *_REFUSED),
    _one("project_name", "soft-hyphen", "a\u00adb", *_REFUSED),
    _one("project_name", "tag-character", "flag\U000e0041", *_REFUSED),
    _one("project_name", "newline", "Two\nLines", *_REFUSED),
    _one("project_name", "carriage-return", "a\rb", *_REFUSED_BEFORE_BAKE),
    _one("project_name", "tab", "a\tb", *_REFUSED),
    _one("project_name", "bell", "a\x07b", *_REFUSED),
    _one("project_name", "next-line", "a\x85b", *_REFUSED_BEFORE_BAKE),
    _one("project_name", "line-separator", "a\u2028b", *_REFUSED_BEFORE_BAKE),
    _one("project_name", "lone-surrogate", "a\ud800b", *_REFUSED_BEFORE_BAKE),
    _one("project_name", "blank", "   ", *_REFUSED),
    _one("project_name", "empty", "", *_REFUSED),
    _one("project_name", "too-long", "x" * 81, *_REFUSED),
    _one("project_name", "longest", "x" * 80, VALID),
    _many("name-80-chars", {"project_name": "N" * 80, "project_slug": "long-name"}, VALID, EDGE),
    # description
    _one("description", "plain", "Bills customers.", VALID),
    _one("description", "emoji", "Ships 🚀 fast", VALID),
    _one("description", "yaml-dash", "- a", VALID),
    _one("description", "expression", "Answers {{ 'x' | upper }}", *_REFUSED_BEFORE_BAKE),
    _one("description", "bidi", "a\u202bb", *_REFUSED),
    _one("description", "empty", "", *_REFUSED),
    _one("description", "newline", "one\ntwo", *_REFUSED),
    _one("description", "control", "bell\x07", *_REFUSED),
    _one("description", "too-long", "d" * 201, *_REFUSED),
    # project_slug
    _one("project_slug", "plain", "billing-api", VALID),
    _one("project_slug", "yaml-null", "null", VALID),
    _one("project_slug", "yaml-on", "on", VALID),
    _one("project_slug", "one-letter", "y", VALID),
    _one("project_slug", "uppercase", "My-Service", *_REFUSED),
    _one("project_slug", "capitalised", "Svc", *_REFUSED),
    _one("project_slug", "leading-dash", "-service", *_REFUSED),
    _one("project_slug", "trailing-dash", "service-", *_REFUSED),
    _one("project_slug", "underscore", "my_service", *_REFUSED),
    _one("project_slug", "digit-first", "1-service", *_REFUSED),
    _one("project_slug", "yaml-number", "1e3", *_REFUSED),
    _one("project_slug", "float", "1e3", *_REFUSED),
    _one("project_slug", "hex", "0x1", *_REFUSED),
    _one("project_slug", "octal", "012", *_REFUSED),
    _one("project_slug", "slash", "a/b", *_REFUSED_BEFORE_BAKE),
    _one("project_slug", "expression", "{{x}}", *_REFUSED_BEFORE_BAKE),
    _one("project_slug", "too-long", "a" * 64, *_REFUSED),
    _one("project_slug", "bom", "\ufeffsvc", *_REFUSED),
    _edge("slug-one-char", "project_slug", "a"),
    _edge("slug-63-chars", "project_slug", "a" * 63),
    _one("project_slug", "shell", "svc;rm -rf ~", *_REFUSED),
    _one("project_slug", "unicode", "café", *_REFUSED),
    # version: the release being rendered, nothing else
    _one("version", "older-release", "0.9.0", *_REFUSED),
    _one("version", "tag-spelling", "v1.0.0", *_REFUSED),
    # owner
    _one("owner", "plain", "team-platform", VALID),
    _one("owner", "yaml-true", "true", VALID),
    _one("owner", "expression", "{{x}}", *_REFUSED_BEFORE_BAKE),
    _one("owner", "bidi", "team\u202e", *_REFUSED),
    _one("owner", "name", "team-platform", VALID),
    _one("owner", "group-ref", "group:default/team-platform", VALID),
    _one("owner", "user-ref", "user:jane.doe", VALID),
    _one("owner", "namespace-only", "payments/team_a", VALID),
    _one("owner", "capitals", "TeamPlatform", VALID),
    _one("owner", "name-63", "a" * 63, VALID),
    _one("owner", "name-64", "a" * 64, REFUSED),
    _one("owner", "empty", "", REFUSED),
    _one("owner", "space", "team platform", REFUSED),
    _one("owner", "leading-dash", "-team", REFUSED),
    _one("owner", "trailing-dot", "team.", REFUSED),
    _one("owner", "kind-with-digit-first", "1group:team", REFUSED),
    _one("owner", "uppercase-namespace", "group:Default/team", REFUSED),
    _one("owner", "two-slashes", "group:a/b/c", REFUSED),
    _one("owner", "shell", "team;id", REFUSED),
    _one("owner", "unicode", "équipe", REFUSED),
    # module_path
    _one("module_path", "plain", "github.com/acme/billing", VALID),
    _one("module_path", "major", "github.com/acme/billing/v2", VALID),
    _one("module_path", "expression", "github.com/{{x}}/y", *_REFUSED_BEFORE_BAKE),
    _one("module_path", "leading-dash-last", "example.com/a/-b", *_REFUSED),
    _one("module_path", "bom", "example.com/\ufeffa", *_REFUSED),
    _one("module_path", "empty", "", *_REFUSED),
    _one("module_path", "no-dot", "example/service", *_REFUSED),
    _one("module_path", "uppercase-host", "GitHub.com/acme/service", *_REFUSED),
    _one("module_path", "double-slash", "example.com//service", *_REFUSED),
    _one("module_path", "trailing-slash", "example.com/service/", *_REFUSED),
    _one("module_path", "leading-slash", "/example.com/service", *_REFUSED),
    _one("module_path", "path-traversal", "example.com/../service", *_REFUSED),
    _one("module_path", "dot-element", "example.com/./service", *_REFUSED),
    _one("module_path", "space", "example.com/my service", *_REFUSED),
    _one("module_path", "shell", "example.com/$(reboot)", *_REFUSED),
    _one("module_path", "backtick", "example.com/`id`", *_REFUSED),
    _one("module_path", "major-v1", "example.com/service/v1", *_REFUSED),
    _one("module_path", "major-v0", "example.com/service/v0", *_REFUSED),
    _one("module_path", "reserved-name", "example.com/con", *_REFUSED),
    _one("module_path", "leading-dash", "-example.com/service", *_REFUSED),
    _one("module_path", "leading-dash-second", "example.com/-service", *_REFUSED),
    _edge("module-with-major-suffix", "module_path", "example.com/acme/service/v2"),
    _edge("module-gopkg-style", "module_path", "gitlab.example.org/group/sub-group/my_service.api~x"),
    # go_version
    _one("go_version", "line", "1.26", VALID),
    _one("go_version", "patch", "1.26.0", VALID),
    _one("go_version", "expression", "{{ 6*7 }}", *_REFUSED_BEFORE_BAKE),
    _one("go_version", "zero-width", "1.26\u200b", *_REFUSED),
    _one("go_version", "empty", "", *_REFUSED),
    _one("go_version", "too-old", "1.21", *_REFUSED),
    _one("go_version", "too-old-patch", "1.21.13", *_REFUSED),
    _one("go_version", "go2", "2.0", *_REFUSED),
    _one("go_version", "prefix", "go1.27", *_REFUSED),
    _one("go_version", "release-candidate", "1.27rc1", *_REFUSED),
    _one("go_version", "leading-zero", "1.027", *_REFUSED),
    _one("go_version", "word", "latest", *_REFUSED),
    _one("go_version", "shell", "1.27;id", *_REFUSED),
    _edge("go-line", "go_version", "1.22"),
    _edge("go-patch", "go_version", "1.22.0"),
    # port
    _one("port", "empty", "", *_REFUSED),
    _one("port", "privileged", "80", *_REFUSED),
    _one("port", "zero", "0", *_REFUSED),
    _one("port", "too-large", "65536", *_REFUSED),
    _one("port", "negative", "-1", *_REFUSED),
    _one("port", "fraction", "8080.5", *_REFUSED),
    _one("port", "shell", "8080;id", *_REFUSED),
    _one("port", "unicode-digits", "\uff18\uff10\uff18\uff10", *_REFUSED),  # fullwidth 8080
    _edge("port-lowest", "port", "1024"),
    _edge("port-highest", "port", "65535"),
    # database
    _one("database", "none", "none", VALID),
    _one("database", "postgres", "postgres", VALID),
    # cookiecutter itself refuses a choice's other values before the hook runs: no bake shows the hook's line.
    _one("database", "other-engine", "mysql", REFUSED),
    _one("database", "capitalised", "Postgres", REFUSED),
    _one("database", "empty", "", REFUSED),
    # Answers that only fail in combination.
    _many(
        "postgres-needs-go-1.26",
        {"database": "postgres", "go_version": "1.25"},
        REFUSED,
        COMBINATION,
        question="go_version",
    ),
    _many(
        "postgres-needs-the-ca-bundle",
        {"database": "postgres", "https_client": False},
        REFUSED,
        COMBINATION,
        question="https_client",
    ),
    _many(
        "metrics-needs-go-1.26",
        {"prometheus_metrics": True, "go_version": "1.25"},
        REFUSED,
        COMBINATION,
        question="go_version",
    ),
    _many(
        "opentelemetry-needs-go-1.26",
        {"opentelemetry": True, "go_version": "1.25"},
        REFUSED,
        COMBINATION,
        question="go_version",
    ),
    # Quotes, unicode and shell-looking text, kept as written.
    _many(
        "quotes",
        {"project_name": 'Bob\'s "Quoted" Service', "description": 'Says "hi" to Bob\'s friends.'},
        VALID,
        VERBATIM,
    ),
    _many(
        "unicode",
        {"project_name": "Café Überdienst 🚀", "description": "Grüße aus Zürich — naïve façade ✓"},
        VALID,
        VERBATIM,
    ),
    _many(
        "shell-looking",
        {"project_name": "Service $(whoami)", "description": "Costs $HOME \\ `id` & more; | tee"},
        VALID,
        VERBATIM,
    ),
    # Hostile but accepted: every YAML 1.1 boolean/null spelling as a slug, and text that YAML would misread.
    _many(
        "null",
        {"project_slug": "null", "project_name": "null", "description": ": x", "owner": "true"},
        VALID,
        YAML_ROUND_TRIP,
    ),
    _many(
        "on",
        {"project_slug": "on", "project_name": "#x", "description": "'", "owner": "null", "ci": "gitlab"},
        VALID,
        YAML_ROUND_TRIP,
    ),
    _many(
        "true",
        {"project_slug": "true", "project_name": '"', "description": "- a", "owner": "yes"},
        VALID,
        YAML_ROUND_TRIP,
    ),
    _many(
        "no",
        {"project_slug": "no", "project_name": "@x", "description": "*x", "owner": "no", "ci": "gitlab"},
        VALID,
        YAML_ROUND_TRIP,
    ),
    _many(
        "yes",
        {"project_slug": "yes", "project_name": "&anchor", "description": "!tag", "owner": "on"},
        VALID,
        YAML_ROUND_TRIP,
    ),
    _many(
        "off",
        {"project_slug": "off", "project_name": "a: b # c", "description": "%x", "owner": "off", "ci": "gitlab"},
        VALID,
        YAML_ROUND_TRIP,
    ),
    _many(
        "y",
        {"project_slug": "y", "project_name": "🚀 Launch", "description": "Ship it 🚀 fast", "owner": "y"},
        VALID,
        YAML_ROUND_TRIP,
    ),
    _many(
        "n",
        {"project_slug": "n", "project_name": "[x]", "description": "{x} | > ? `x`", "owner": "n", "ci": "gitlab"},
        VALID,
        YAML_ROUND_TRIP,
    ),
    _many(
        "false",
        {"project_slug": "false", "project_name": "'quoted'", "description": 'say "hi" \\ there', "owner": "false"},
        VALID,
        YAML_ROUND_TRIP,
    ),
    # Unusual answers the hook accepts; the catalog must accept what they generate.
    _many(
        "owner-ref-and-major-version",
        {
            "project_slug": "billing",
            "module_path": "github.com/acme/billing/v2",
            "owner": "group:default/payments",
            "lifecycle": "production",
        },
        VALID,
        CATALOG,
    ),
    _many(
        "gitlab-subgroup",
        {"module_path": "gitlab.example.org/fin/core/ledger", "ci": "gitlab", "kubernetes": False},
        VALID,
        CATALOG,
    ),
    _many(
        "other-host-user-owner",
        {"module_path": "go.example.com/api", "owner": "user:jane.doe", "lifecycle": "deprecated"},
        VALID,
        CATALOG,
    ),
    _many("namespaced-owner", {"owner": "payments/team_a"}, VALID, CATALOG),
    _many("longest-slug", {"project_slug": "a" * 63}, VALID, CATALOG),
    _many(
        "yaml-special-text",
        {
            "project_name": 'Ops: "Billing" #1 - 100% {ok}',
            "description": "Says 'hi': #1, {ok} & [done] - really; key: value, *alias, !tag, @at, `tick`",
        },
        VALID,
        CATALOG,
    ),
    _many("accented-name", {"project_name": "Café Ünïcode Sérvice"}, VALID, CATALOG),
]


def cases(use: str) -> list[AnswerCase]:
    """The cases of the table fed to one check, in table order."""
    return [case for case in ANSWERS if use in case.uses]


# All answers valid, every one given: the hook's checks run against it with one answer changed.
VALID_BASE: dict[str, Any] = {
    # A choice's answer is its default, the first of its values; `_extensions` stays a list.
    **{k: v[0] if isinstance(v, list) and not k.startswith("_") else v for k, v in COOKIECUTTER_JSON.items()},
    "project_slug": "svc",
    "module_path": "example.com/svc",
    "lifecycle": "experimental",
    "ci": "github",
    "database": "none",
}
# Plain answers to bake next to a YAML_ROUND_TRIP case: where each lands, that case's answer must land.
YAML_BASELINE: dict[str, str] = {
    "project_slug": "baseline-slug",
    "project_name": "Baseline Name",
    "description": "Baseline text.",
    "owner": "baseline-owner",
}
