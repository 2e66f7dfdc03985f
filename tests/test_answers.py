"""Answers are data, everywhere: no answer runs code, breaks a file, or slips past the checks.

Cookiecutter renders every answer as Jinja; the template's ``_extensions`` sandbox makes that
harmless wherever the template root is loaded (the command line, the Python API, cruft). The
Backstage form, which renders without that root, refuses what the hook refuses. Accepted answers
must give projects whose YAML parses to the answers and whose Go code builds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import jsonschema
import pytest
import yaml
from cookiecutter.environment import StrictEnvironment
from cookiecutter.exceptions import UndefinedVariableInTemplate, UnknownExtension
from cookiecutter.main import cookiecutter
from jinja2.exceptions import SecurityError

import local_extensions
from harness.answers import (
    ANSWERS,
    COOKIECUTTER_JSON,
    MODULE_PATHS,
    VALID,
    VALID_BASE,
    YAML_BASELINE,
    YAML_ROUND_TRIP,
    cases,
)
from harness.project import COMBINATIONS, GO_VERSION, TEMPLATE_DIR, Bake, answers_id, bake_with
from harness.repositories import change_template, cruft, git, template_repository
from harness.template import render_context
from harness.tools import require_tool, run

BACKSTAGE_TEMPLATE: dict[str, Any] = yaml.safe_load((TEMPLATE_DIR / "template.yaml").read_text(encoding="utf-8"))
MARKER = "MARKER"  # replaced by a path in the test's folder: the file a payload would create

# Answers that run a command when rendered by a non-sandboxed Jinja (each creates MARKER).
PAYLOADS: dict[str, str] = {
    "cycler-globals": "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "lipsum-globals": "{{ lipsum.__globals__['os'].popen('touch MARKER').read() }}",
    "self-builtins": "{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch MARKER') }}",
    "namespace-statement": "{% set g = namespace.__init__.__globals__ %}{{ g.os.system('touch MARKER') }}",
}


def armed(payload: str, marker: Path) -> str:
    """The payload, aimed at a marker file in the test's folder."""
    return payload.replace(MARKER, str(marker))


def cookiecutter_cli(*args: str, output_dir: Path, template: Path = TEMPLATE_DIR) -> subprocess.CompletedProcess[str]:
    """Run the real cookiecutter command line, as a portal does."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output_dir), str(template), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def entries(directory: Path) -> list[str]:
    """Everything below directory, folders included."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*")) if directory.exists() else []


# --- The sandbox ----------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_runs_outside_the_sandbox(tmp_path: Path, payload: str) -> None:
    """Control: rendered by cookiecutter's environment without the template's extension, each payload runs."""
    marker = tmp_path / "ran"
    StrictEnvironment(context={"cookiecutter": {}}).from_string(armed(payload, marker)).render()
    assert marker.exists()


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_cli_stops_a_payload_in_the_sandbox(tmp_path: Path, payload: str) -> None:
    """Through the command line, a payload stops with a sandbox error naming the question; nothing runs or stays."""
    marker, output = tmp_path / "ran", tmp_path / "out"
    result = cookiecutter_cli(f"project_name={armed(payload, marker)}", output_dir=output)
    assert result.returncode == 1
    assert "Unable to render variable 'project_name'" in result.stdout
    assert "refused by Jinja's sandbox" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not marker.exists()
    assert entries(output) == []


@pytest.mark.parametrize("question", ["project_name", "description", "module_path", "owner", "go_version"])
def test_api_stops_a_payload_in_any_answer(cookies: Any, tmp_path: Path, question: str) -> None:
    """Through the Python API (pytest-cookies), a payload in any answer raises a SecurityError; nothing runs."""
    marker = tmp_path / "ran"
    result = cookies.bake(
        template=str(TEMPLATE_DIR), extra_context={question: armed(PAYLOADS["cycler-globals"], marker)}
    )
    assert isinstance(result.exception, UndefinedVariableInTemplate)
    assert isinstance(result.exception.error, SecurityError)
    assert not marker.exists()
    assert [p for p in (tmp_path / "cookies").rglob("*") if p.is_file()] == []


def test_rendered_jinja_delimiters_are_refused(cookies: Any, capfd: pytest.CaptureFixture[str]) -> None:
    """An answer that still holds Jinja after rendering ({% raw %}) is refused: cruft update would render it again."""
    answer = "{% raw %}{{ 6*7 }}{% endraw %}"
    result = cookies.bake(template=str(TEMPLATE_DIR), extra_context={"go_version": GO_VERSION, "description": answer})
    assert result.exit_code != 0
    (line,) = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error: ")]
    assert line.startswith('error: description="{{ 6*7 }}" is not allowed: no Jinja delimiters')


@pytest.mark.slow
def test_cruft_create_stops_a_payload(tmp_path: Path) -> None:
    """`cruft create` loads the template root too: the payload stops with a SecurityError and nothing is written."""
    marker, output = tmp_path / "ran", tmp_path / "out"
    output.mkdir()
    template = template_repository(tmp_path)
    context = json.dumps({"project_slug": "svc", "description": armed(PAYLOADS["lipsum-globals"], marker)})
    created = cruft(
        "create", str(template), "--no-input", "--extra-context", context, "--output-dir", str(output), cwd=output
    )
    assert created.returncode != 0
    assert "SecurityError" in created.stdout + created.stderr
    assert "refused by Jinja's sandbox" in created.stdout + created.stderr
    assert not marker.exists()
    assert entries(output) == []


@pytest.mark.slow
def test_cruft_update_stops_a_stored_payload(tmp_path: Path) -> None:
    """`cruft update` renders the answers stored in .cruft.json again: a payload planted there stops in the sandbox."""
    marker = tmp_path / "ran"
    template, project = created_with_cruft(tmp_path)
    plant(project, answers={"description": armed(PAYLOADS["self-builtins"], marker)})
    change_template(template)
    updated = cruft("update", "--skip-apply-ask", cwd=project)
    assert updated.returncode != 0
    assert "SecurityError" in updated.stdout + updated.stderr
    assert not marker.exists()
    assert git(project, "status", "--porcelain") == ""


# --- Slugs that are not one folder, private answers ----------------------------------------

FOLDER_ESCAPES = {"slash": "a/b", "parent": "../escape", "deep": "x/y/z", "dot-dot": ".."}


@pytest.mark.parametrize("slug", FOLDER_ESCAPES.values(), ids=FOLDER_ESCAPES.keys())
def test_slug_with_a_slash_leaves_no_folder(tmp_path: Path, slug: str) -> None:
    """A slug that names more than one folder is refused before cookiecutter creates any directory."""
    output = tmp_path / "work" / "out"
    output.mkdir(parents=True)
    result = cookiecutter_cli(f"project_slug={slug}", f"go_version={GO_VERSION}", output_dir=output)
    assert result.returncode == 1
    assert f"project_slug={json.dumps(slug)} is not allowed: 1-63 lowercase letters" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert entries(tmp_path / "work") == ["out"]


def test_sandbox_and_hook_word_the_slug_rule_alike(pre_gen: ModuleType) -> None:
    """The slug refused before any folder exists and the slug refused by the hook get the same explanation."""
    environment = StrictEnvironment(context={"cookiecutter": {"_extensions": COOKIECUTTER_JSON["_extensions"]}})
    with pytest.raises(local_extensions.UnsafeAnswerError) as refused:
        environment.from_string("{{ cookiecutter.project_slug }}").render(cookiecutter={"project_slug": "a/b"})
    assert str(refused.value) == f'project_slug="a/b" is not allowed: {pre_gen.SLUG_ALLOWED}'


PRIVATE_OVERRIDES: dict[str, tuple[list[str], str]] = {
    "https-forced-on": (["https_client=false", "__https_client=True"], "__https_client"),
    "metrics-on-old-go": (["go_version=1.22", "__prometheus_metrics=True"], "__prometheus_metrics"),
    "vendoring-forced-off": (["vendor_dependencies=yes", "__vendor_dependencies=False"], "__vendor_dependencies"),
    "kubernetes-garbage": (["__kubernetes=maybe"], "__kubernetes"),
}


@pytest.mark.parametrize(("args", "question"), PRIVATE_OVERRIDES.values(), ids=PRIVATE_OVERRIDES.keys())
def test_private_answers_passed_directly_are_refused(tmp_path: Path, args: list[str], question: str) -> None:
    """A private __ answer that differs from what its public answer gives is refused in one line; nothing stays."""
    output = tmp_path / "out"
    result = cookiecutter_cli(*args, output_dir=output)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: {question}=")
    assert "(it is derived from " in errors[0]
    assert entries(output) == []


# --- The form and the hook agree ------------------------------------------------------------

FREE_TEXT_FIELDS = ["project_name", "project_slug", "description", "owner", "module_path", "go_version", "repoUrl"]
# Every case of the answers table that answers one free-text question, or the database choice: the hook and the
# form must both give its verdict.
FORM_CASES = [case for case in ANSWERS if len(case.answers) == 1 and case.question in (*FREE_TEXT_FIELDS, "database")]
SHARED_CASES = [pytest.param(case.question, case.value, case.verdict == VALID, id=case.id) for case in FORM_CASES]


def hook_verdict(pre_gen: ModuleType, field: str, value: Any) -> bool:
    """Whether the hook's checks accept value for field, the other answers being valid."""
    try:
        pre_gen.check_answers({**VALID_BASE, field: value})
    except pre_gen.InvalidAnswer:
        return False
    return True


def form_fields() -> dict[str, dict[str, Any]]:
    """Every form field of the Backstage template, from all its pages."""
    fields: dict[str, dict[str, Any]] = {}
    for page in BACKSTAGE_TEMPLATE["spec"]["parameters"]:
        fields.update(page["properties"])
    return fields


def form_verdict(field: str, value: Any) -> bool:
    """Whether the form's JSON schema for field accepts value (what the scaffolder checks on the server)."""
    schema = {k: v for k, v in form_fields()[field].items() if not k.startswith("ui:")}
    return jsonschema.Draft7Validator(schema).is_valid(value)


def test_answer_cases_have_distinct_ids() -> None:
    """Each case of the answers table has its own id, so no two test ids collide or hide each other."""
    ids = [case.id for case in ANSWERS]
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


@pytest.mark.parametrize(("field", "value", "accepted"), SHARED_CASES)
def test_form_and_hook_agree(pre_gen: ModuleType, field: str, value: Any, accepted: bool) -> None:
    """On the shared table of ordinary and hostile answers, the hook and the form's schema give the same verdict."""
    assert hook_verdict(pre_gen, field, value) == accepted
    assert form_verdict(field, value) == accepted


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
def test_every_free_text_field_refuses_jinja(field: str) -> None:
    """Every free-text field of the form has a pattern that refuses each Jinja delimiter, alone or inside a value."""
    assert form_fields()[field]["type"] == "string"
    for delimiter in ("{{", "}}", "{%", "%}", "{#", "#}"):
        for value in (delimiter, f"a{delimiter}b", f"github.com?owner=a&repo=b{delimiter}"):
            assert not form_verdict(field, value), value


def test_repository_picker_refuses_what_would_break_the_module_path() -> None:
    """The repository's owner and name become module path elements when the module path is left empty."""
    assert form_verdict("repoUrl", "github.com?owner=acme&repo=billing_api.v2")
    for value in ("github.com?owner=acme&repo=-x", "github.com?owner=acme&repo=x.", "github.com?owner=a b&repo=x"):
        assert not form_verdict("repoUrl", value)


NODE_PROGRAM = """
const {patterns, values} = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const verdicts = patterns.map(p => values.map(v => new RegExp(p, 'u').test(v)));
process.stdout.write(JSON.stringify(verdicts));
"""


@pytest.mark.node
def test_form_patterns_read_the_same_in_javascript() -> None:
    """Each pattern gives the same verdicts in JavaScript (RegExp with the u flag, as the scaffolder) as in Python."""
    node = require_tool("node")
    fields = {name: field["pattern"] for name, field in form_fields().items() if "pattern" in field}
    values = [case.value for case in FORM_CASES]
    values += [f"a{char}" for char in INVISIBLE.values()] + [f"{v}\n" for v in TRAILING_NEWLINE_FIELDS.values()]
    payload = json.dumps({"patterns": list(fields.values()), "values": values})
    result = subprocess.run([node, "-e", NODE_PROGRAM], input=payload, capture_output=True, text=True, check=True)
    javascript = json.loads(result.stdout)
    python = [[jsonschema.Draft7Validator({"pattern": p}).is_valid(v) for v in values] for p in fields.values()]
    assert dict(zip(fields, javascript, strict=True)) == dict(zip(fields, python, strict=True))


# --- Accepted answers give files that parse to the answers ----------------------------------

ANSWER_KEYS = ("project_slug", "project_name", "description", "owner")
YAML_CASES = {case.id: case.answers for case in cases(YAML_ROUND_TRIP)}


def yaml_files(project: Path) -> dict[str, Any]:
    """Every YAML file of the project, parsed as YAML 1.1 (PyYAML, like most YAML readers in Kubernetes tools)."""
    files = sorted(p for p in project.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())
    return {str(p.relative_to(project)): yaml.safe_load(p.read_text(encoding="utf-8")) for p in files}


def leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar of a parsed YAML document with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, f"{path}/{index}")
    else:
        yield path, node


@pytest.mark.parametrize("case", YAML_CASES, ids=YAML_CASES)
def test_every_yaml_string_stays_the_answer(cookies: Any, case: str) -> None:
    """Where an answer lands in any YAML file, it parses back as that very string; nothing else changes type."""
    answers = YAML_CASES[case]
    extra = {key: value for key, value in answers.items() if key not in ANSWER_KEYS}
    baseline = yaml_files(bake_with(cookies, {**YAML_BASELINE, **extra}))
    hostile = yaml_files(bake_with(cookies, answers))
    assert sorted(hostile) == sorted(baseline)
    for name, document in baseline.items():
        expected = dict(leaves(document))
        got = dict(leaves(hostile[name]))
        assert sorted(got) == sorted(expected), name
        for path, value in expected.items():
            answer = next((key for key in ANSWER_KEYS if value == YAML_BASELINE[key]), None)
            if answer is not None:
                assert got[path] == answers[answer], f"{name}{path}"
            else:
                assert type(got[path]) is type(value), f"{name}{path}: {got[path]!r}"


@pytest.mark.slow
def test_emoji_reach_the_catalog_as_themselves_and_build(cookies: Any) -> None:
    """Characters outside the BMP are written as themselves (no surrogate escapes) and the service compiles."""
    answers = {"project_name": "Rocket 🚀", "description": "Launches 🚀 and 𝔉𝔯𝔞𝔨𝔱𝔲𝔯"}
    project = bake_with(cookies, answers)
    catalog = (project / "catalog-info.yaml").read_text(encoding="utf-8")
    assert "\\ud83d" not in catalog.lower()
    entity = yaml.safe_load(catalog)
    assert entity["metadata"]["title"] == answers["project_name"]
    assert entity["metadata"]["description"] == answers["description"]
    run(["go", "vet", "./..."], cwd=project)


def test_byte_order_mark_would_break_main_go(tmp_path: Path) -> None:
    """Control: rendered without the hook, a U+FEFF in the description makes main.go fail to compile."""
    output = tmp_path / "out"
    config = tmp_path / "cookiecutterrc.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\n", encoding="utf-8")
    project = cookiecutter(
        str(TEMPLATE_DIR),
        no_input=True,
        extra_context={"go_version": GO_VERSION, "description": "a\ufeffb"},
        output_dir=str(output),
        accept_hooks=False,
        config_file=str(config),
    )
    built = subprocess.run(
        ["go", "build", "-o", os.devnull, "."], cwd=project, capture_output=True, text=True, check=False
    )
    assert built.returncode != 0
    assert "illegal byte order mark" in built.stderr


@pytest.mark.parametrize(("path", "valid"), MODULE_PATHS.items(), ids=MODULE_PATHS.keys())
def test_form_module_path_agrees_with_the_go_command_table(path: str, valid: bool) -> None:
    """The form's module path pattern gives the verdict of the table that the go command itself checks."""
    assert form_verdict("module_path", path) == valid


# --- Accepted Go versions build ----------------------------------------------------------------

GO_LINE = ".".join(GO_VERSION.split(".")[:2])  # e.g. 1.26: a Go line without a patch release
GO_SPELLINGS = {"line": GO_LINE, "first-release": f"{GO_LINE}.0"}


@pytest.mark.parametrize("go_version", GO_SPELLINGS.values(), ids=GO_SPELLINGS.keys())
def test_go_line_gets_a_patch_release_in_go_mod(bake: Bake, go_version: str) -> None:
    """`1.N` and `1.N.0` give the same go.mod line, `go 1.N.0`; the Dockerfile keeps the answer as the image tag."""
    project = bake(go_version=go_version)
    assert f"\ngo {GO_LINE}.0\n" in (project / "go.mod").read_text(encoding="utf-8")
    assert f" golang:{go_version}-alpine AS golang-builder\n" in (project / "Dockerfile").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("answers", COMBINATIONS, ids=answers_id)
def test_go_line_builds_every_combination(cookies: Any, tmp_path: Path, answers: dict[str, bool]) -> None:
    """With go_version `1.N`, every combination vendors (through the hook), builds and vets with the local Go."""
    project = bake_with(cookies, {**answers, "go_version": GO_LINE})
    local = {"GOTOOLCHAIN": "local"}
    run(["go", "build", "-o", str(tmp_path / "service"), "."], cwd=project, env=local)
    run(["go", "vet", "./..."], cwd=project, env=local)


@pytest.mark.slow
def test_go_line_without_patch_breaks_a_dependency_that_needs_one(cookies: Any) -> None:
    """Control: with go.mod's line as `go 1.N` (as before), the Prometheus client refuses to build."""
    project = bake_with(cookies, {"go_version": GO_LINE, "prometheus_metrics": True})
    go_mod = project / "go.mod"
    go_mod.write_text(go_mod.read_text(encoding="utf-8").replace(f"\ngo {GO_LINE}.0\n", f"\ngo {GO_LINE}\n"))
    built = subprocess.run(
        ["go", "build", "-o", os.devnull, "."],
        cwd=project,
        env={**os.environ, "GOTOOLCHAIN": "local"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode != 0, "go 1.N builds now: the go.mod rendering can be simplified"


# --- No answer may change the context, the settings or the hooks (issue 14, classes 1-4) ----------

# Answers that change the context while they are rendered: planted settings turn the hooks into a comment.
MUTATIONS: dict[str, str] = {
    # Both hooks open with a docstring and end with `SystemExit(main())`: as one Jinja comment they run nothing.
    "update-env-vars": (
        "{{ cookiecutter.update({'_jinja2_env_vars': {'comment_start_string': '\"\"\"', "
        "'comment_end_string': 'SystemExit(main())'}}) or 'A' }}"
    ),
    "setdefault": "{{ cookiecutter.setdefault('_copy_without_render', ['*']) or 'A' }}",
    "pop": "{{ cookiecutter.pop('_extensions') or 'A' }}",
    "move-to-end": "{{ cookiecutter.move_to_end('project_name') or 'A' }}",
    "attr-filter": "{{ (cookiecutter | attr('update'))({'_extensions': []}) or 'A' }}",
    "list-append": "{% set names = ['A'] %}{{ names.append('B') or names | join }}",
    "dict-values": "{{ cookiecutter.items() | list | attr('clear')() or 'A' }}",
}


@pytest.mark.parametrize("payload", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_cli_refuses_an_answer_that_changes_the_context(tmp_path: Path, payload: str) -> None:
    """Through the command line, no method that could change the context can be called; nothing is written."""
    output = tmp_path / "out"
    result = cookiecutter_cli(f"project_name={payload}", "port=80", output_dir=output)
    assert result.returncode == 1
    assert "refused by Jinja's sandbox" in result.stdout
    assert entries(output) == []


@pytest.mark.parametrize("payload", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_api_refuses_an_answer_that_changes_the_context(cookies: Any, payload: str) -> None:
    """Through the Python API, a context-changing answer raises a SecurityError and leaves nothing."""
    result = cookies.bake(template=str(TEMPLATE_DIR), extra_context={"description": payload, "port": "80"})
    assert isinstance(result.exception, UndefinedVariableInTemplate)
    assert isinstance(result.exception.error, SecurityError)
    assert result.project_path is None


@pytest.mark.slow
def test_cruft_create_refuses_an_answer_that_changes_the_context(tmp_path: Path) -> None:
    """`cruft create --extra-context` with planted settings stops in the sandbox; no .cruft.json keeps them."""
    output = tmp_path / "out"
    output.mkdir()
    template = template_repository(tmp_path)
    context = json.dumps({"project_slug": "svc", "description": MUTATIONS["update-env-vars"]})
    created = cruft(
        "create", str(template), "--no-input", "--extra-context", context, "--output-dir", str(output), cwd=output
    )
    assert created.returncode != 0
    assert "refused by Jinja's sandbox" in created.stdout + created.stderr
    assert entries(output) == []


def write_replay(path: Path, **private: Any) -> Path:
    """A replay file with valid answers and the given private settings."""
    context = render_context({"go_version": GO_VERSION})
    context["cookiecutter"].update(private)
    path.write_text(json.dumps(context), encoding="utf-8")
    return path


PLANTED_SETTINGS: dict[str, dict[str, Any]] = {
    "env-vars-comment": {"_jinja2_env_vars": {"comment_start_string": '"""', "comment_end_string": "#}"}},
    "env-vars-line-statement": {"_jinja2_env_vars": {"line_statement_prefix": "import"}},
    "copy-without-render": {"_copy_without_render": ["*"]},
    "extensions-off": {"_extensions": []},
    "extension-added": {"_extensions": ["local_extensions.SandboxedAnswers", "jinja2.ext.debug"]},
    "new-lines": {"_new_lines": "\r\n"},
}


@pytest.mark.parametrize("private", PLANTED_SETTINGS.values(), ids=PLANTED_SETTINGS.keys())
def test_replay_file_with_private_settings_is_refused(tmp_path: Path, private: dict[str, Any]) -> None:
    """A replay file (`--replay-file`) may not carry cookiecutter's private settings: generation stops, none stays."""
    output = tmp_path / "out"
    replay = write_replay(tmp_path / "replay.json", **private)
    command = [sys.executable, "-m", "cookiecutter", "--replay-file", str(replay), "-o", str(output), str(TEMPLATE_DIR)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    key = next(iter(private))
    assert key in result.stdout + result.stderr
    assert entries(output) == []


@pytest.mark.parametrize(
    "private", [PLANTED_SETTINGS["extensions-off"], PLANTED_SETTINGS["extension-added"]], ids=["off", "added"]
)
def test_extensions_changed_through_extra_context_are_refused(cookies: Any, private: dict[str, Any]) -> None:
    """`_extensions` passed as extra context (Python API, cruft create, a portal) stops generation; nothing stays."""
    result = cookies.bake(template=str(TEMPLATE_DIR), extra_context={"go_version": GO_VERSION, **private})
    assert result.exit_code != 0
    assert result.project_path is None


def test_extensions_changed_in_a_user_config_are_refused(tmp_path: Path) -> None:
    """`_extensions` in a user config's default_context (COOKIECUTTER_CONFIG) stops generation; nothing stays."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"default_context": {"_extensions": []}}), encoding="utf-8")
    output = tmp_path / "out"
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output), str(TEMPLATE_DIR)]
    env = {**os.environ, "COOKIECUTTER_CONFIG": str(config)}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert result.returncode == 1
    assert 'error: _extensions=[] is not allowed: ["local_extensions.SandboxedAnswers"]' in result.stderr
    assert entries(output) == []


def test_environment_with_planted_settings_refuses_to_load() -> None:
    """Cookiecutter's environment built with any non-default Jinja setting refuses to load the sandbox."""
    context = {"cookiecutter": {"_extensions": COOKIECUTTER_JSON["_extensions"]}}
    with pytest.raises(UnknownExtension, match="_jinja2_env_vars sets comment_start_string"):
        StrictEnvironment(context=context, comment_start_string='"""')


@pytest.mark.parametrize("version", ["3.1.5", "3.0.3", "2.11.3"])
def test_old_jinja_is_refused_with_one_line(version: str) -> None:
    """A Jinja2 older than 3.1.6 (CVE-2025-27516) is refused with a line that says what to install."""
    with pytest.raises(local_extensions.TemplateRefused, match=r"install Jinja2 3\.1\.6 or newer") as refused:
        local_extensions.check_jinja(version)
    assert "\n" not in str(refused.value)


def test_old_jinja_stops_generation(cookies: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the Python API, a Jinja2 that reports 3.1.5 renders nothing: the extension refuses to load."""
    monkeypatch.setattr(local_extensions.jinja2, "__version__", "3.1.5")
    result = cookies.bake(template=str(TEMPLATE_DIR), extra_context={"go_version": GO_VERSION})
    assert isinstance(result.exception, UnknownExtension)
    assert "CVE-2025-27516" in str(result.exception)
    assert result.project_path is None


def test_current_jinja_is_accepted() -> None:
    """The installed Jinja2 is new enough, and version strings with suffixes compare by their release."""
    local_extensions.check_jinja(jinja2.__version__)
    local_extensions.check_jinja("3.2.0rc1")


def test_only_the_template_root_is_a_template() -> None:
    """No other folder of the repository holds a cookiecutter.json (it would render outside the sandbox)."""
    listed = subprocess.run(
        ["git", "ls-files", "--", "*cookiecutter.json"], cwd=TEMPLATE_DIR, capture_output=True, text=True, check=True
    ).stdout.split()
    assert listed == ["cookiecutter.json"]
    assert COOKIECUTTER_JSON["_extensions"] == ["local_extensions.SandboxedAnswers"]


TRAILING_NEWLINE_FIELDS = {
    "project_slug": "svc",
    "go_version": "1.27",
    "owner": "team-platform",
    "version": "1.0.0",
    "module_path": "example.com/svc",
    "project_name": "Billing",
}


@pytest.mark.parametrize(("field", "value"), TRAILING_NEWLINE_FIELDS.items(), ids=TRAILING_NEWLINE_FIELDS.keys())
def test_trailing_line_break_is_refused_by_hook_and_form(pre_gen: ModuleType, field: str, value: str) -> None:
    """A value followed by one line break is refused; the value alone is accepted (by the form too, where asked)."""
    assert hook_verdict(pre_gen, field, value)
    assert not hook_verdict(pre_gen, field, value + "\n")
    if field in form_fields():
        assert form_verdict(field, value)
        assert not form_verdict(field, value + "\n")


def test_repository_location_refuses_a_trailing_line_break() -> None:
    """The repository picker's value may not end in a line break either."""
    assert form_verdict("repoUrl", "github.com?owner=acme&repo=billing")
    assert not form_verdict("repoUrl", "github.com?owner=acme&repo=billing\n")


@pytest.mark.parametrize("field", ["module_path", "go_version", "repoUrl", "project_slug"])
def test_form_caps_the_length(field: str) -> None:
    """The form refuses a 10,000-character value in every free-text field."""
    values = {"module_path": "example.com/" + "a" * 10_000, "go_version": "1.2" + "7" * 10_000}
    values |= {"repoUrl": "github.com?owner=a&repo=" + "b" * 10_000, "project_slug": "a" * 10_000}
    assert "maxLength" in form_fields()[field]
    assert not form_verdict(field, values[field])


INVISIBLE = {
    "hangul-filler": "\u3164",
    "hangul-choseong-filler": "\u115f",
    "braille-blank": "\u2800",
    "variation-selector-16": "\ufe0f",
    "variation-selector-17": "\U000e0100",
    "combining-grapheme-joiner": "\u034f",
}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
@pytest.mark.parametrize("field", ["project_name", "description"])
def test_blank_rendering_characters_are_refused(pre_gen: ModuleType, field: str, char: str) -> None:
    """A character that renders as nothing is refused alone and inside a name, by the hook and the form alike."""
    for value in (char, f"admin{char}", f"Billing {char}API"):
        assert not hook_verdict(pre_gen, field, value)
        assert not form_verdict(field, value)


def page_verdict(title: str, answers: dict[str, Any]) -> bool:
    """Whether a whole form page (its fields and the rules between them) accepts the answers."""
    (page,) = [p for p in BACKSTAGE_TEMPLATE["spec"]["parameters"] if p["title"] == title]
    return jsonschema.Draft7Validator(page).is_valid(answers)


def test_form_refuses_a_name_whose_derived_slug_breaks() -> None:
    """In the form, "42 Service" with no slug is refused (it would derive 42-service); with a slug it is accepted."""
    base = {"owner": "team-platform"}
    assert not page_verdict("Service", {**base, "project_name": "42 Service"})
    assert not page_verdict("Service", {**base, "project_name": "!!!"})
    assert page_verdict("Service", {**base, "project_name": "42 Service", "project_slug": "svc-42"})
    assert page_verdict("Service", {**base, "project_name": "Billing 42"})


@pytest.mark.parametrize(
    ("option", "on", "off"),
    [("prometheus_metrics", True, False), ("opentelemetry", True, False), ("database", "postgres", "none")],
)
def test_form_asks_the_go_an_option_needs(pre_gen: ModuleType, option: str, on: Any, off: Any) -> None:
    """The form refuses a Go line older than the option's minimum when the option is on, as the hook does."""
    minimum = pre_gen.rules.OPTIONS[option].option.go_minimum.minor
    older, enough = f"1.{minimum - 1}", f"1.{minimum}"
    assert not page_verdict("Go and container image", {option: on, "go_version": older})
    assert page_verdict("Go and container image", {option: on, "go_version": enough})
    assert page_verdict("Go and container image", {option: off, "go_version": older})


def test_form_and_hook_keep_the_ca_bundle_with_postgres(pre_gen: ModuleType) -> None:
    """With postgres, https_client off is refused by the form and by the hook, in the same words."""
    page = "Go and container image"
    assert not page_verdict(page, {"database": "postgres", "https_client": False})
    assert page_verdict(page, {"database": "postgres", "https_client": True})
    assert page_verdict(page, {"database": "none", "https_client": False})
    with pytest.raises(pre_gen.InvalidAnswer) as refused:
        pre_gen.check_answers({**VALID_BASE, "database": "postgres", "https_client": "no"})
    reason = pre_gen.rules.POSTGRES_NEEDS_HTTPS
    assert str(refused.value) == f'https_client="no" is not allowed: {reason}'
    assert reason in form_fields()["database"]["ui:help"]


def test_name_that_slugifies_to_nothing_says_what_to_do(tmp_path: Path) -> None:
    """A name with no letter or digit is refused while the answers are read, with what to do instead."""
    result = cookiecutter_cli("project_name=!!!", output_dir=tmp_path / "out")
    assert result.returncode == 1
    assert 'project_name="!!!" slugifies to nothing; give a name that starts with a letter' in result.stdout
    assert entries(tmp_path / "out") == []


def created_with_cruft(tmp_path: Path) -> tuple[Path, Path]:
    """A template repository and a project created from it with cruft and committed: (template, project)."""
    output = tmp_path / "out"
    output.mkdir()
    template = template_repository(tmp_path)
    context = json.dumps({"go_version": GO_VERSION, "project_slug": "svc"})
    created = cruft(
        "create", str(template), "--no-input", "--extra-context", context, "--output-dir", str(output), cwd=output
    )
    assert created.returncode == 0, created.stdout + created.stderr
    return template, output / "svc"


def plant(project: Path, **changes: Any) -> None:
    """Change .cruft.json (top-level keys, or context answers under `answers`) and commit it."""
    state_path = project / ".cruft.json"
    state = json.loads(state_path.read_text(encoding="utf-8"))
    state["context"]["cookiecutter"].update(changes.pop("answers", {}))
    state.update(changes)
    state_path.write_text(json.dumps(state, indent=2), encoding="utf-8")
    git(project, "init", "--quiet")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "Generated, with a planted .cruft.json")


@pytest.mark.slow
@pytest.mark.parametrize("command", ["update", "diff"])
def test_cruft_directory_pointing_at_another_folder_runs_nothing(tmp_path: Path, command: str) -> None:
    """A .cruft.json whose `directory` points at the former bench template renders nothing outside the sandbox."""
    marker = tmp_path / "ran"
    template, project = created_with_cruft(tmp_path)
    plant(project, directory="bench/onefile", answers={"name": armed(PAYLOADS["cycler-globals"], marker)})
    change_template(template)
    args = ["update", "--skip-apply-ask"] if command == "update" else ["diff"]
    result = cruft(*args, cwd=project)
    assert not marker.exists()
    assert "Good work!" not in result.stdout
    assert git(project, "status", "--porcelain") == ""


@pytest.mark.slow
@pytest.mark.parametrize("command", ["update", "diff"])
def test_cruft_stored_mutation_is_refused(tmp_path: Path, command: str) -> None:
    """An answer stored in .cruft.json that would plant settings stops in the sandbox on update and diff."""
    template, project = created_with_cruft(tmp_path)
    plant(project, answers={"description": MUTATIONS["update-env-vars"], "port": "80"})
    change_template(template)
    args = ["update", "--skip-apply-ask"] if command == "update" else ["diff"]
    result = cruft(*args, cwd=project)
    assert result.returncode != 0
    assert "refused by Jinja's sandbox" in result.stdout + result.stderr
    assert git(project, "status", "--porcelain") == ""


@pytest.mark.parametrize("directory", ["bench/onefile", "bench", "harness", "hooks", "tests"])
def test_directory_option_finds_no_template_outside_the_root(tmp_path: Path, directory: str) -> None:
    """`cookiecutter --directory <folder>` finds no second template in the repository: nothing renders."""
    marker, output = tmp_path / "ran", tmp_path / "out"
    answer = f"name={armed(PAYLOADS['cycler-globals'], marker)}"
    result = cookiecutter_cli("--directory", directory, answer, output_dir=output)
    assert result.returncode != 0
    assert not marker.exists()
    assert entries(output) == []


@pytest.mark.parametrize("private", [PLANTED_SETTINGS["copy-without-render"], PLANTED_SETTINGS["new-lines"]])
def test_replay_file_settings_are_refused_without_hooks(tmp_path: Path, private: dict[str, Any]) -> None:
    """With `--accept-hooks no` the sandbox itself refuses a replay file's private settings; nothing is written."""
    output = tmp_path / "out"
    replay = write_replay(tmp_path / "replay.json", **private)
    command = [sys.executable, "-m", "cookiecutter", "--accept-hooks", "no", "--replay-file", str(replay)]
    result = subprocess.run(
        [*command, "-o", str(output), str(TEMPLATE_DIR)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 1
    assert f"{next(iter(private))}=" in result.stdout
    assert "answers may not set cookiecutter's private settings" in result.stdout
    assert entries(output) == []


@pytest.mark.slow
def test_cruft_create_refuses_extensions_in_extra_context(tmp_path: Path) -> None:
    """`cruft create --extra-context '{"_extensions": []}'` stops in the hook; no project and no .cruft.json stay."""
    output = tmp_path / "out"
    output.mkdir()
    template = template_repository(tmp_path)
    context = json.dumps({"project_slug": "svc", "go_version": GO_VERSION, "_extensions": []})
    created = cruft(
        "create", str(template), "--no-input", "--extra-context", context, "--output-dir", str(output), cwd=output
    )
    assert created.returncode != 0
    assert "error: _extensions=[] is not allowed" in created.stderr
    assert entries(output) == []
