"""Portals: the catalog entry, the Backstage Software Template, and the answers portals pass.

The Template's form stays in step with cookiecutter.json and the hook here; Backstage's own code
(the real fetch:cookiecutter action, its template engine and validators) runs in test_backstage.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from harness.answers import ANSWERS, COOKIECUTTER_JSON, SLUG, VALID, VALID_BASE
from harness.project import GO_VERSION, TEMPLATE_DIR, Bake
from harness.template import template_copy_with
from harness.tools import require_tool

PROMPTS: dict[str, str] = COOKIECUTTER_JSON["__prompts__"]
PUBLIC_KEYS = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]
PRIVATE_KEYS = [key for key in COOKIECUTTER_JSON if key.startswith("__") and key != "__prompts__"]
# Asked of nobody: portals record it as the template release.
CONSTANT_KEYS = {"version"}

BACKSTAGE_TEMPLATE_PATH = TEMPLATE_DIR / "template.yaml"
BACKSTAGE_TEMPLATE: dict[str, Any] = yaml.safe_load(BACKSTAGE_TEMPLATE_PATH.read_text(encoding="utf-8"))

# Backstage's own rule for metadata.name (catalog-model KubernetesValidatorFunctions.isValidObjectName).
BACKSTAGE_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

# --- The Backstage template, evaluated -------------------------------------------


def backstage_parameters() -> dict[str, dict[str, Any]]:
    """Every form field of the template, from all its pages."""
    fields: dict[str, dict[str, Any]] = {}
    for page in BACKSTAGE_TEMPLATE["spec"]["parameters"]:
        fields.update(page["properties"])
    return fields


def fetch_step() -> dict[str, Any]:
    """The template's fetch:cookiecutter step."""
    (step,) = [s for s in BACKSTAGE_TEMPLATE["spec"]["steps"] if s["action"] == "fetch:cookiecutter"]
    return step


def isolated_config(tmp_path: Path) -> str:
    """A cookiecutter user config that keeps its replay and clone folders inside tmp_path."""
    config = tmp_path / "cookiecutterrc.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n", encoding="utf-8"
    )
    return str(config)


# --- Hooks, as users get them ---------------------------------------------------------


def hook_accepts(pre_gen: ModuleType, question: str, value: Any) -> bool:
    """Tell whether the hook's checks accept value for question, the other answers being valid."""
    answers = {**VALID_BASE, "go_version": GO_VERSION, question: value}
    try:
        pre_gen.check_answers(answers)
    except pre_gen.InvalidAnswer:
        return False
    return True


# --- The catalog entry ---------------------------------------------------------------

CATALOG_CASES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "github-owner-ref": {
        "project_slug": "billing",
        "module_path": "github.com/acme/billing/v2",
        "owner": "group:default/payments",
        "lifecycle": "production",
    },
    "gitlab-subgroup": {
        "project_slug": "ledger",
        "module_path": "gitlab.example.org/fin/core/ledger",
        "ci": "gitlab",
        "kubernetes": False,
    },
    "other-host": {"project_slug": "api", "module_path": "go.example.com/api", "lifecycle": "deprecated"},
    "yaml-special-text": {"description": 'Says "hi": #1, {ok} & [done] - really', "owner": "user:jane.doe"},
}
# Every Component names the Template it came from (template.yaml's metadata.name), and its release.
FROM_TEMPLATE = "template:default/go-scratch-service"
EXPECTED_ANNOTATIONS: dict[str, dict[str, str]] = {
    "defaults": {
        "backstage.io/source-location": f"url:https://github.com/example/{SLUG}/",
        "github.com/project-slug": f"example/{SLUG}",
        "backstage.io/kubernetes-id": SLUG,
    },
    "github-owner-ref": {
        "backstage.io/source-location": "url:https://github.com/acme/billing/",
        "github.com/project-slug": "acme/billing",
        "backstage.io/kubernetes-id": "billing",
    },
    "gitlab-subgroup": {
        "backstage.io/source-location": "url:https://gitlab.example.org/fin/core/ledger/",
        "gitlab.com/project-slug": "fin/core/ledger",
    },
    "other-host": {
        "backstage.io/source-location": "url:https://go.example.com/api/",
        "backstage.io/kubernetes-id": "api",
    },
    "yaml-special-text": {
        "backstage.io/source-location": f"url:https://github.com/example/{SLUG}/",
        "github.com/project-slug": f"example/{SLUG}",
        "backstage.io/kubernetes-id": SLUG,
    },
}


@pytest.mark.parametrize("case", CATALOG_CASES, ids=CATALOG_CASES)
def test_catalog_info_describes_the_component(bake: Bake, case: str) -> None:
    """catalog-info.yaml is a Backstage Component with the answers and the annotations that fit the host."""
    answers = CATALOG_CASES[case]
    project = bake(**answers)
    entity = yaml.safe_load((project / "catalog-info.yaml").read_text(encoding="utf-8"))
    context = {**COOKIECUTTER_JSON, "lifecycle": "experimental", "project_slug": SLUG, **answers}
    origin = {"backstage.io/source-template": FROM_TEMPLATE, "backstage.io/template-version": context["version"]}
    assert entity["apiVersion"] == "backstage.io/v1alpha1"
    assert entity["kind"] == "Component"
    assert entity["metadata"]["name"] == context["project_slug"]
    assert BACKSTAGE_NAME.match(entity["metadata"]["name"])
    assert entity["metadata"]["title"] == context["project_name"]
    assert entity["metadata"]["description"] == context["description"]
    assert entity["metadata"]["annotations"] == {**EXPECTED_ANNOTATIONS[case], **origin}
    assert entity["spec"] == {
        "type": "service",
        "lifecycle": context["lifecycle"],
        "owner": context["owner"],
        "scaffoldedFrom": FROM_TEMPLATE,
    }


# --- New questions: owner, lifecycle, version ----------------------------------------

# Every owner of the answers table, named without its question.
OWNERS = {
    case.id.removeprefix("owner:"): (case.value, case.verdict == VALID) for case in ANSWERS if case.question == "owner"
}


@pytest.mark.parametrize(("owner", "valid"), OWNERS.values(), ids=OWNERS.keys())
def test_owner_must_be_an_entity_reference(pre_gen: ModuleType, owner: str, valid: bool) -> None:
    """The owner is accepted exactly when it is a Backstage entity reference."""
    assert hook_accepts(pre_gen, "owner", owner) == valid


PORTAL_MISTAKES: dict[str, tuple[str, Any, str]] = {
    "owner": ("owner", "team platform", "a Backstage entity reference"),
    "lifecycle": ("lifecycle", "retired", "one of experimental, production, deprecated"),
    "version": ("version", "v1", "MAJOR.MINOR.PATCH"),
}


@pytest.mark.parametrize(("question", "value", "allowed"), PORTAL_MISTAKES.values(), ids=PORTAL_MISTAKES.keys())
def test_portal_answer_is_refused_with_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], question: str, value: Any, allowed: str
) -> None:
    """A bad answer written into cookiecutter.json (as portals do) is refused in one line naming it."""
    template = template_copy_with(tmp_path, {"go_version": GO_VERSION, question: value})
    output = tmp_path / "out"
    with pytest.raises(FailedHookException):
        cookiecutter(str(template), no_input=True, output_dir=str(output), config_file=isolated_config(tmp_path))
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: {question}={json.dumps(value)} is not allowed: ")
    assert allowed in errors[0]
    assert list(output.rglob("*")) == []


def test_version_is_the_template_release() -> None:
    """cookiecutter.json's version (read by Cortex) is the release in pyproject.toml and the Backstage template."""
    release = tomllib.loads((TEMPLATE_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert COOKIECUTTER_JSON["version"] == release
    assert fetch_step()["input"]["values"]["version"] == release


def test_every_question_has_a_prompt() -> None:
    """Every question, the new ones included, has a human question in __prompts__."""
    assert sorted(PROMPTS) == sorted(PUBLIC_KEYS)


# --- The Backstage Software Template stays in step with cookiecutter.json -------------


def test_backstage_template_is_a_scaffolder_template() -> None:
    """The template is a v1beta3 Template that fetches with cookiecutter, publishes, then registers."""
    assert BACKSTAGE_TEMPLATE["apiVersion"] == "scaffolder.backstage.io/v1beta3"
    assert BACKSTAGE_TEMPLATE["kind"] == "Template"
    assert BACKSTAGE_NAME.match(BACKSTAGE_TEMPLATE["metadata"]["name"])
    actions = [step["action"] for step in BACKSTAGE_TEMPLATE["spec"]["steps"]]
    assert actions == ["fetch:cookiecutter", "publish:github", "catalog:register"]
    register = BACKSTAGE_TEMPLATE["spec"]["steps"][2]["input"]
    assert register["catalogInfoPath"] == "/catalog-info.yaml"
    assert (TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "catalog-info.yaml").is_file()


def test_backstage_asks_every_question() -> None:
    """Every public question is a form field and reaches cookiecutter; the release and the location pass as they are."""
    fields = backstage_parameters()
    values = fetch_step()["input"]["values"]
    assert sorted(set(fields) - {"repoUrl"}) == sorted(set(PUBLIC_KEYS) - CONSTANT_KEYS)
    assert sorted(values) == sorted([*PUBLIC_KEYS, *PRIVATE_KEYS, "_template_location"])
    assert values["_template_location"] == COOKIECUTTER_JSON["_template_location"]
    for key in set(PUBLIC_KEYS) - CONSTANT_KEYS:
        assert f"parameters.{key}" in values[key], key
        assert fields[key]["description"] == PROMPTS[key], key


def cookiecutter_default(key: str) -> Any:
    """The default that cookiecutter.json gives a question: a choice's first entry, the port as a number."""
    default = COOKIECUTTER_JSON[key]
    if isinstance(default, list):
        return default[0]
    return int(default) if key == "port" else default


@pytest.mark.parametrize("key", [k for k in PUBLIC_KEYS if k not in CONSTANT_KEYS])
def test_backstage_field_matches_cookiecutter_json(key: str) -> None:
    """Each field has cookiecutter.json's default, type and choices; derived defaults are left to cookiecutter."""
    field = backstage_parameters()[key]
    default = COOKIECUTTER_JSON[key]
    if isinstance(default, str) and "{{" in default:
        assert "default" not in field  # derived: computed from other answers when the field stays empty
    else:
        assert field["default"] == cookiecutter_default(key)
    if isinstance(default, bool):
        assert field["type"] == "boolean"
    if isinstance(default, list):
        assert field["enum"] == default


def test_backstage_passes_private_answers_verbatim() -> None:
    """The private answers (the boolean normalisers) are cookiecutter.json's own expressions."""
    values = fetch_step()["input"]["values"]
    for key in PRIVATE_KEYS:
        assert values[key] == COOKIECUTTER_JSON[key], key


def test_backstage_port_range_is_the_hooks(pre_gen: ModuleType) -> None:
    """The port field allows exactly the hook's range."""
    field = backstage_parameters()["port"]
    assert (field["minimum"], field["maximum"]) == (pre_gen.MIN_PORT, pre_gen.MAX_PORT)


@pytest.mark.parametrize(("key", "limit"), [("project_name", 80), ("description", 200)])
def test_backstage_text_limits_are_the_hooks(pre_gen: ModuleType, key: str, limit: int) -> None:
    """Free-text fields have the hook's length limit."""
    assert backstage_parameters()[key]["maxLength"] == limit
    assert hook_accepts(pre_gen, key, "x" * limit)
    assert not hook_accepts(pre_gen, key, "x" * (limit + 1))


def test_backstage_patterns_are_the_hooks_regexes(pre_gen: ModuleType) -> None:
    """The slug and owner fields use the hook's very regexes."""
    fields = backstage_parameters()
    assert fields["project_slug"]["pattern"] == pre_gen.SLUG.pattern
    assert fields["owner"]["pattern"] == pre_gen.OWNER.pattern


# Samples on both sides of each rule; the form's pattern must agree with the hook on every one.
PATTERN_SAMPLES: dict[str, list[str]] = {
    "project_slug": ["svc", "a", "a" * 63, "a" * 64, "My-Service", "-svc", "svc-", "my_service", "a/b", "café"],
    "owner": list(dict.fromkeys(value for value, _ in OWNERS.values() if value)),
    "go_version": [
        "1.22",
        "1.22.0",
        "1.27.4",
        "1.30",
        "1.100",
        "1.21",
        "1.21.13",
        "1.9",
        "2.0",
        "go1.27",
        "1.27rc1",
        "1.027",
        "1.27.04",
        "latest",
    ],
    "module_path": [
        "github.com/acme/billing",
        "example.com/acme/service/v2",
        "gitlab.example.org/group/sub-group/my_service.api~x",
        "go.example.com/api",
        "example/service",
        "GitHub.com/acme/service",
        "example.com//service",
        "example.com/service/",
        "/example.com/service",
        "example.com/../service",
        "example.com/./service",
        "example.com/my service",
        "example.com/$(reboot)",
        "-example.com/service",
        ".example.com/service",
    ],
}
PATTERN_CASES = [(key, sample) for key, samples in PATTERN_SAMPLES.items() for sample in samples]


@pytest.mark.parametrize(("key", "sample"), PATTERN_CASES, ids=[f"{k}:{s[:20]}" for k, s in PATTERN_CASES])
def test_backstage_pattern_agrees_with_the_hook(pre_gen: ModuleType, key: str, sample: str) -> None:
    """The form refuses exactly what the hook refuses, on the whole string (no `$`, which allows a trailing newline)."""
    pattern = backstage_parameters()[key]["pattern"]
    assert pattern.startswith("^")
    assert pattern.endswith("(?![\\s\\S])")
    assert bool(re.search(pattern, sample)) == hook_accepts(pre_gen, key, sample)


# --- Generated from the rules ----------------------------------------------------------------------

GENERATED_FILES = ("cookiecutter.json", "template.yaml", "README.md")


def generator() -> ModuleType:
    """The generator of cookiecutter.json, the form and the question table."""
    return importlib.import_module("scripts.generate_portal_files")


def test_committed_files_are_what_the_rules_generate() -> None:
    """cookiecutter.json, template.yaml's generated blocks and README's question table are the generator's output."""
    assert generator().stale() == []


def copy_of_generated_files(directory: Path) -> Path:
    """The rules and the generated files, copied into directory (a template root of its own)."""
    (directory / "hooks").mkdir(parents=True)
    shutil.copy2(TEMPLATE_DIR / "hooks" / "rules.py", directory / "hooks" / "rules.py")
    for name in GENERATED_FILES:
        shutil.copy2(TEMPLATE_DIR / name, directory / name)
    return directory


RULE_CHANGES = {
    "minimum-go": ("MIN_GO_MINOR = 22", "MIN_GO_MINOR = 23"),
    "option-minimum-go": ("GoMinimum(26, ", "GoMinimum(27, "),
    "boolean-word": ('TRUE_WORDS = ("1", ', 'TRUE_WORDS = ("1", "si", '),
    "name-length": ("max_length=80,", "max_length=81,"),
    "ci-choice": ('CI_SYSTEMS = ("github", "gitlab", "none")', 'CI_SYSTEMS = ("github", "gitlab", "forgejo", "none")'),
}


@pytest.mark.parametrize(("old", "new"), RULE_CHANGES.values(), ids=RULE_CHANGES.keys())
def test_freshness_check_fails_when_the_rules_change_alone(tmp_path: Path, old: str, new: str) -> None:
    """Control: change one rule and not the generated files, and the freshness check names the stale files."""
    root = copy_of_generated_files(tmp_path / "copy")
    rules_path = root / "hooks" / "rules.py"
    text = rules_path.read_text(encoding="utf-8")
    assert old in text
    rules_path.write_text(text.replace(old, new, 1), encoding="utf-8")
    stale = generator().stale(root)
    assert root / "template.yaml" in stale
    for path, content in generator().generated(root).items():
        path.write_text(content, encoding="utf-8")
    assert generator().stale(root) == []


def test_generator_check_mode_passes_on_the_committed_files() -> None:
    """`scripts/generate_portal_files.py --check` passes on the repository as committed."""
    command = [sys.executable, str(TEMPLATE_DIR / "scripts" / "generate_portal_files.py"), "--check"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout


# --- The form, checked by the scaffolder's own validator (the npm jsonschema package) --------------

SCAFFOLDER_VALIDATION = """
const { validate } = require('jsonschema');
const { pages, cases } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(cases.map(([page, answers]) => validate(answers, pages[page]).valid)));
"""
SERVICE_BASE = {"project_name": "Billing", "owner": "team-platform", "description": "Bills."}
GO_BASE = {"module_path": "example.com/svc", "go_version": "1.27"}
# (case id, page, answers, accepted)
SCAFFOLDER_CASES: list[tuple[str, int, dict[str, Any], bool]] = [
    ("plain", 0, SERVICE_BASE, True),
    ("derived-slug-starts-with-digit", 0, {**SERVICE_BASE, "project_name": "42 Service"}, False),
    ("name-without-letters", 0, {**SERVICE_BASE, "project_name": "!!!"}, False),
    ("digit-name-with-slug", 0, {**SERVICE_BASE, "project_name": "42 Service", "project_slug": "svc-42"}, True),
    ("slug-trailing-newline", 0, {**SERVICE_BASE, "project_slug": "svc\n"}, False),
    ("owner-trailing-newline", 0, {**SERVICE_BASE, "owner": "team\n"}, False),
    ("name-hangul-filler", 0, {**SERVICE_BASE, "project_name": "\u3164"}, False),
    ("name-braille-blank", 0, {**SERVICE_BASE, "project_name": "admin\u2800"}, False),
    ("name-variation-selector", 0, {**SERVICE_BASE, "project_name": "a\U000e0100"}, False),
    ("name-grapheme-joiner", 0, {**SERVICE_BASE, "project_name": "a\u034fb"}, False),
    ("name-jinja", 0, {**SERVICE_BASE, "project_name": "{{ 6*7 }}"}, False),
    ("go-plain", 1, GO_BASE, True),
    ("go-trailing-newline", 1, {**GO_BASE, "go_version": "1.27\n"}, False),
    ("module-trailing-newline", 1, {**GO_BASE, "module_path": "example.com/svc\n"}, False),
    ("module-10000", 1, {**GO_BASE, "module_path": "example.com/" + "a" * 10_000}, False),
    ("go-10000", 1, {**GO_BASE, "go_version": "1.2" + "7" * 10_000}, False),
    ("metrics-old-go", 1, {**GO_BASE, "go_version": "1.25", "prometheus_metrics": True}, False),
    ("metrics-go-1.26", 1, {**GO_BASE, "go_version": "1.26", "prometheus_metrics": True}, True),
    ("tracing-old-go", 1, {**GO_BASE, "go_version": "1.25", "opentelemetry": True}, False),
    ("old-go-no-option", 1, {**GO_BASE, "go_version": "1.25"}, True),
    ("repo-10000", 3, {"repoUrl": "github.com?owner=a&repo=" + "b" * 10_000}, False),
    ("repo-trailing-newline", 3, {"repoUrl": "github.com?owner=a&repo=b\n"}, False),
    ("repo-plain", 3, {"repoUrl": "github.com?owner=acme&repo=billing"}, True),
]


@pytest.mark.node
def test_scaffolder_validator_refuses_what_the_hook_refuses(backstage: Any) -> None:
    """Backstage's parameter validator (npm jsonschema) gives each hostile form submission the expected verdict."""
    pages = [{k: v for k, v in page.items() if k != "title"} for page in BACKSTAGE_TEMPLATE["spec"]["parameters"]]
    request = json.dumps({"pages": pages, "cases": [[page, answers] for _, page, answers, _ in SCAFFOLDER_CASES]})
    result = subprocess.run(
        [require_tool("node"), "-e", SCAFFOLDER_VALIDATION],
        input=request,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "NODE_PATH": str(backstage.node_modules)},
    )
    verdicts = dict(zip([case for case, *_ in SCAFFOLDER_CASES], json.loads(result.stdout), strict=True))
    assert verdicts == {case: accepted for case, _, _, accepted in SCAFFOLDER_CASES}
