"""The OpenAPI option's checks, run for real: Redocly CLI lints the spec, oasdiff gates breaking changes.

`make lint` of an api project makes its LINT_STEPS (build/api.mk): `api-lint`, Redocly CLI at the
release tools/redocly pins (installed by npm ci from the npm registry, once per lock file, into a
cache the tests share), and `api-breaking`, oasdiff at the release tools/api/go.mod pins, against the
pull or merge request's base branch, else the newest release tag. Real git repositories: a base
branch in a local origin (fetched by the script when the clone lacks it) and release tags. Controls:
a broken spec fails the lint, a breaking change fails the gate with the way to ship one on purpose,
unless info.version's major is raised. Then the lint job itself under act (a pull request) and
gitlab-ci-local (a merge request), once each.

Tier: unit. Redocly needs Node (>= 20.19) and npm, which the unit tier installs as Debian's client
(scripts/install-unit.sh); the `node` marker stays Backstage's (the portals tier).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.project import GO_VERSION, bake_with
from harness.repositories import git
from harness.runners import Completed, act, gitlab_ci_local
from harness.tools import file_lock, require_tool

SPEC = Path("api") / "openapi.yaml"
HOW_TO = "raise the major of info.version"
NODE_MINIMUM = (20, 19)  # Redocly CLI 2's engines: >=20.19 <21 or >=22.12


def need_node() -> None:
    """Skip (fail in CI) without npm, or with a Node older than Redocly CLI accepts."""
    require_tool("npm")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    major, minor = (int(part) for part in version.lstrip("v").split(".")[:2])
    if (major, minor) < NODE_MINIMUM or (major == 21) or (major == 22 and minor < 12):
        pytest.fail(f"Node {version} is too old for Redocly CLI: install Node 22.12+ or 20.19+")


@pytest.fixture(scope="module")
def api_project(cookies_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with the OpenAPI option, its Redocly installed once in the shared cache (npm ci, locked)."""
    need_node()
    project = bake_with(cookies_session, {"ci": "github", "api": "openapi", "go_version": GO_VERSION})
    with file_lock(tmp_path_factory.getbasetemp().parent / "redocly-install.lock"):
        make(project, "api-lint").check()
    return project


class Made:
    """A finished make run: exit code and output (stdout and stderr, interleaved)."""

    def __init__(self, result: subprocess.CompletedProcess[str]) -> None:
        """Keep the result."""
        self.returncode = result.returncode
        self.output = result.stdout

    def check(self) -> Made:
        """Fail with the output unless make succeeded."""
        assert self.returncode == 0, self.output
        return self


def make(project: Path, target: str, env: Mapping[str, str] | None = None) -> Made:
    """Run `make TARGET` in the project, outside any CI (the CI variables of the environment removed)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_")) and k != "CI"}
    result = subprocess.run(
        ["make", target],
        cwd=project,
        env={**base, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1800,
        check=False,
    )
    return Made(result)


def copy(project: Path, target: Path) -> Path:
    """A copy of the project, without any git repository."""
    shutil.copytree(project, target, ignore=shutil.ignore_patterns(".git"))
    return target


def spec(project: Path) -> dict[str, Any]:
    """The project's OpenAPI spec."""
    return yaml.safe_load((project / SPEC).read_text(encoding="utf-8"))


def write_spec(project: Path, document: dict[str, Any]) -> None:
    """Write the spec back (block-style YAML, as rendered)."""
    (project / SPEC).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def additive(project: Path) -> None:
    """Add an operation: nothing a client relies on changes."""
    document = spec(project)
    document["paths"]["/added-by-test"] = {
        "get": {
            "operationId": "addedByTest",
            "summary": "Added by the test",
            "description": "An operation that only adds.",
            "responses": {"200": {"description": "OK."}, "400": {"description": "Bad request."}},
        }
    }
    write_spec(project, document)


# The code of the operation `additive` adds, as its developer writes it after `make generate`.
ADDED_OPERATION = """package main

import (
	"context"

	"{module}/internal/api"
)

// AddedByTest answers the operation that the test added to the description.
func (apiServer) AddedByTest(context.Context, api.AddedByTestRequestObject) (api.AddedByTestResponseObject, error) {{
	return api.AddedByTest200Response{{}}, nil
}}
"""


def developed(project: Path) -> None:
    """The additive change as a developer ships it: the description, `make generate`, the operation's code."""
    additive(project)
    make(project, "generate").check()
    module = (project / "go.mod").read_text(encoding="utf-8").split("\n", 1)[0].removeprefix("module ")
    (project / "added_by_test.go").write_text(ADDED_OPERATION.format(module=module), encoding="utf-8")


def breaking(project: Path) -> str:
    """Remove the spec's first path (error level for oasdiff: api-path-removed-without-deprecation); return it."""
    document = spec(project)
    path = next(iter(document["paths"]))
    del document["paths"][path]
    if not document["paths"]:  # a spec of one path: keep another, so that only the removal breaks
        kept = {"operationId": "keptByTest", "responses": {"200": {"description": "OK."}}}
        document["paths"] = {"/kept-by-test": {"get": kept}}
    write_spec(project, document)
    return path


def raise_major(project: Path) -> str:
    """Raise info.version's major (1.4.0 -> 2.0.0); return the new version."""
    document = spec(project)
    major = int(re.match(r"v?(\d+)", str(document["info"]["version"])).group(1))  # type: ignore[union-attr]
    document["info"]["version"] = f"{major + 1}.0.0"
    write_spec(project, document)
    return document["info"]["version"]


def commit(project: Path, message: str) -> None:
    """Commit everything."""
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "-m", message)


def released(project: Path, tmp_path: Path, tag: str = "v1.0.0") -> Path:
    """A copy of the project as a repository on main with one release tag."""
    repository = copy(project, tmp_path / "project")
    git(repository, "init", "--quiet", "--initial-branch=main")
    commit(repository, "First release")
    git(repository, "tag", "-a", tag, "-m", f"Release {tag}")
    return repository


# --- Redocly CLI lints the spec -------------------------------------------------------------------


def test_spec_lint_passes_on_the_generated_spec(api_project: Path) -> None:
    """The generated spec passes Redocly's recommended rules, with the release tools/redocly pins."""
    result = make(api_project, "api-lint").check()
    assert "redocly lint --config=redocly.yaml" in result.output
    assert "Your API description is valid" in result.output
    lock = json.loads((api_project / "tools" / "redocly" / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/@redocly/cli"]["version"] == "2.77.0"


def test_spec_lint_fails_on_a_broken_spec(api_project: Path, tmp_path: Path) -> None:
    """Control: an operationId used twice and info without its title fail the lint, each named."""
    project = copy(api_project, tmp_path / "project")
    additive(project)
    document = spec(project)
    document["paths"]["/added-by-test"]["get"]["operationId"] = next(
        operation["operationId"]
        for path, item in document["paths"].items()
        if path != "/added-by-test"
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    )
    del document["info"]["title"]
    write_spec(project, document)
    result = make(project, "api-lint")
    assert result.returncode != 0
    assert "operation-operationId-unique" in result.output
    assert "The field `title` must be present on this level." in result.output


def test_make_lint_makes_the_api_steps_after_the_go_checks(api_project: Path) -> None:
    """`make lint` runs build/lint.sh, then api-lint and api-breaking (LINT_STEPS); `make help` lists them."""
    help_text = make(api_project, "help").check().output
    assert re.search(r"^  api-lint +Lint api/openapi.yaml", help_text, re.M)
    assert re.search(r"^  api-breaking +Refuse breaking changes", help_text, re.M)
    output = make(api_project, "lint").check().output
    go, redocly, gate = (output.index(s) for s in ("0 issues.", "redocly lint", "api-breaking: "))
    assert go < redocly < gate
    assert "nothing to compare" in output  # a new project outside git: no base yet


# --- oasdiff gates breaking changes ---------------------------------------------------------------


def test_gate_passes_without_a_release_and_with_an_additive_change(api_project: Path, tmp_path: Path) -> None:
    """No release tag yet: it passes with a note; after v1.0.0, an added operation passes against the tag."""
    repository = copy(api_project, tmp_path / "project")
    git(repository, "init", "--quiet", "--initial-branch=main")
    commit(repository, "First commit")
    assert "no release tag v* before HEAD" in make(repository, "api-breaking").check().output
    git(repository, "tag", "v1.0.0")
    additive(repository)
    commit(repository, "Add an operation")
    output = make(repository, "api-breaking").check().output
    assert "against v1.0.0" in output


def test_gate_fails_a_breaking_change_against_the_newest_release(api_project: Path, tmp_path: Path) -> None:
    """Control: a removed path fails against the newest v* tag (version order, not v1.10 < v1.9), with the how-to."""
    repository = released(api_project, tmp_path, "v1.9.0")
    additive(repository)
    commit(repository, "Add an operation")
    git(repository, "tag", "v1.10.0")
    removed = breaking(repository)
    result = make(repository, "api-breaking")
    assert result.returncode != 0
    assert "against v1.10.0" in result.output
    assert "api-path-removed-without-deprecation" in result.output
    assert removed in result.output
    assert HOW_TO in result.output


def test_gate_passes_a_breaking_change_with_a_raised_major(api_project: Path, tmp_path: Path) -> None:
    """A breaking change ships on purpose with info.version's major raised: listed, and passed."""
    repository = released(api_project, tmp_path)
    breaking(repository)
    version = raise_major(repository)
    output = make(repository, "api-breaking").check().output
    assert "api-path-removed-without-deprecation" in output
    assert f"info.version's major went from {int(version.split('.')[0]) - 1} to {version.split('.')[0]}" in output


def test_a_release_compares_with_the_release_before(api_project: Path, tmp_path: Path) -> None:
    """On a release tag's own commit (a tag pipeline), the base is the tag before it, not the tag itself."""
    repository = released(api_project, tmp_path)
    breaking(repository)
    commit(repository, "Breaking")
    git(repository, "tag", "v1.1.0")
    result = make(repository, "api-breaking")
    assert result.returncode != 0
    assert "against v1.0.0" in result.output


def pull_request_repository(api_project: Path, tmp_path: Path, change: Any) -> tuple[Path, Path]:
    """A clone on a feature branch whose base, main, is only in its origin (a local bare repository)."""
    upstream = copy(api_project, tmp_path / "upstream")
    git(upstream, "init", "--quiet", "--initial-branch=main")
    commit(upstream, "Main")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(upstream), str(origin))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", "--single-branch", "--branch", "main", str(origin), str(clone))
    git(clone, "checkout", "--quiet", "-b", "feature")
    change(clone)
    commit(clone, "Feature")
    git(clone, "update-ref", "-d", "refs/remotes/origin/main")  # a shallow CI clone lacks it: the script fetches
    return clone, origin


@pytest.mark.parametrize("platform", ["github", "gitlab"])
def test_gate_fetches_the_base_branch_of_a_request(api_project: Path, tmp_path: Path, platform: str) -> None:
    """In a pull or merge request the base is origin/<target>, fetched when missing: a breaking change fails."""
    clone, _ = pull_request_repository(api_project, tmp_path, breaking)
    variable = "GITHUB_BASE_REF" if platform == "github" else "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
    result = make(clone, "api-breaking", env={variable: "main"})
    assert result.returncode != 0
    assert "git fetch --quiet --no-tags origin +refs/heads/main:refs/remotes/origin/main" in result.output
    assert "against origin/main" in result.output
    assert HOW_TO in result.output
    git(clone, "rev-parse", "--verify", "refs/remotes/origin/main")


def test_gate_refuses_a_base_that_is_not_a_ref(api_project: Path, tmp_path: Path) -> None:
    """API_BASE and the base branch are data: an option-like or odd value is refused before git sees it."""
    repository = released(api_project, tmp_path)
    for env in ({"API_BASE": "--output=/tmp/x"}, {"GITHUB_BASE_REF": "main..x"}, {"API_BASE": "v1.0.0;true"}):
        result = make(repository, "api-breaking", env=env)
        assert result.returncode == 2, (env, result.output)
        assert "is not allowed" in result.output


# --- The lint job, run by the runners -------------------------------------------------------------


def runner_repository(api_project: Path, tmp_path: Path, remote: str) -> Path:
    """A repository on a feature branch with an additive change; main is in a local origin that `remote` names."""
    clone, origin = pull_request_repository(api_project, tmp_path, developed)
    git(clone, "remote", "set-url", "origin", remote)  # the runners read the repository's name from it
    git(clone, "config", f"url.{origin}.insteadOf", remote)  # git fetches it from the local origin
    return clone


@pytest.mark.slow
def test_github_lint_job_of_a_pull_request_runs_the_gate(api_project: Path, tmp_path: Path) -> None:
    """Under act, the lint job of a pull request: golangci-lint, Redocly and oasdiff against the fetched base pass."""
    clone = runner_repository(api_project, tmp_path, "https://github.com/example/project.git")
    payload = {"number": 1, "pull_request": {"number": 1, "base": {"ref": "main"}, "head": {"ref": "feature"}}}
    result = act(clone, ".github/workflows/ci.yml", "lint", event="pull_request", event_payload=payload).check()
    assert_lint_ran(result)


@pytest.mark.slow
def test_gitlab_lint_job_of_a_merge_request_runs_the_gate(api_project: Path, tmp_path: Path, cookies: Any) -> None:
    """Under gitlab-ci-local, the lint job of a merge request: the same three checks pass against its target."""
    project = bake_with(cookies, {"ci": "gitlab", "api": "openapi", "go_version": GO_VERSION})
    clone = runner_repository(project, tmp_path, "https://gitlab.com/example/project.git")
    variables = {"GOTOOLCHAIN": f"go{GO_VERSION}", "CI_PIPELINE_SOURCE": "merge_request_event"}
    variables |= {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_MERGE_REQUEST_IID": "1"}
    result = gitlab_ci_local(clone, "lint", variables=variables, needs=False).check()
    assert_lint_ran(result)


def assert_lint_ran(result: Completed) -> None:
    """The three checks ran, the gate against the base branch it fetched."""
    assert "0 issues." in result.output
    assert "Your API description is valid" in result.output
    assert "api-breaking: api/openapi.yaml" in result.output
    assert "against origin/main" in result.output
    assert "nothing to compare" not in result.output
