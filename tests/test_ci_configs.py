"""CI of the generated project: the GitHub workflow, GitLab pipeline, dependency updates and pre-commit hooks.

Each file is checked by the tool its users rely on (actionlint with shellcheck, check-jsonschema's
bundled GitHub, Dependabot, GitLab CI and Renovate schemas), and its jobs are read back to show
they lint, test with the race detector and build the image with a BuildKit cache. The pre-commit
configuration is installed and run for real on a generated project.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from harness.project import GO_VERSION, TEMPLATE_DIR, Bake, bake_with
from harness.repositories import GIT_IDENTITY, git
from harness.tools import require_tool, run
from harness.versions import GOLANGCI_LINT_VERSION

CI_FILES = {
    "github": [".github/workflows/ci.yml", ".github/workflows/template-update.yml", ".github/dependabot.yml"],
    "gitlab": [".gitlab-ci.yml", "renovate.json"],
    "none": [],
}
ALL_CI_FILES = sorted({name for names in CI_FILES.values() for name in names})


@pytest.fixture(scope="module")
def github_project(cookies_session: Any) -> Path:
    """A project with GitHub Actions (the default)."""
    return bake_with(cookies_session, {"ci": "github"})


@pytest.fixture(scope="module")
def gitlab_project(cookies_session: Any) -> Path:
    """A project with GitLab CI, vendoring its one dependency."""
    return bake_with(cookies_session, {"ci": "gitlab", "vendor_dependencies": True, "prometheus_metrics": True})


def load(path: Path) -> Any:
    """Parse a YAML (or JSON) file."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def check_schema(schema: str, path: Path, *options: str) -> None:
    """Validate a file against one of check-jsonschema's bundled schemas; fail with its output otherwise."""
    tool = require_tool("check-jsonschema")
    output = run([tool, "--builtin-schema", schema, *options, str(path)], cwd=path.parent)
    assert "ok -- validation done" in output


# --- Which files each answer brings --------------------------------------------------


@pytest.mark.parametrize("ci", CI_FILES)
def test_ci_answer_brings_only_its_files(bake: Bake, ci: str) -> None:
    """Each ci answer brings its own CI and dependency-update files, and none of the others."""
    project = bake(ci=ci)
    present = [name for name in ALL_CI_FILES if (project / name).exists()]
    assert present == sorted(CI_FILES[ci])
    if ci != "github":
        assert not (project / ".github").exists()


@pytest.mark.parametrize("value", ["jenkins", "GitHub", "", None])
def test_unknown_ci_is_refused(pre_gen: ModuleType, value: object) -> None:
    """A ci answer other than github, gitlab or none is refused in one line naming the choices."""
    with pytest.raises(pre_gen.InvalidAnswer, match=r"^ci=.* is not allowed: one of github, gitlab, none$"):
        pre_gen.check_answers({**pre_gen.ANSWERS, "ci": value})


# --- The database option's CI ---------------------------------------------------------------

# The official image's index digest (docker-library/repo-info, postgres:17-alpine), as CI pins it.
POSTGRES_IMAGE = re.compile(r"^postgres:\d+(?:\.\d+)?-alpine@sha256:[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def postgres_github_project(cookies_session: Any) -> Path:
    """A postgres project with GitHub Actions."""
    return bake_with(cookies_session, {"ci": "github", "database": "postgres"})


@pytest.fixture(scope="module")
def postgres_gitlab_project(cookies_session: Any) -> Path:
    """A postgres project with GitLab CI."""
    return bake_with(cookies_session, {"ci": "gitlab", "database": "postgres"})


def test_github_tests_run_against_a_postgresql_service(postgres_github_project: Path) -> None:
    """The test job starts PostgreSQL (pinned by digest where Dependabot reads it) and sets TEST_DATABASE_URL."""
    project = postgres_github_project
    run([require_tool("actionlint"), ".github/workflows/ci.yml"], cwd=project)
    check_schema("vendor.github-workflows", project / ".github" / "workflows" / "ci.yml")
    check_schema("vendor.dependabot", project / ".github" / "dependabot.yml")
    jobs = workflow(project)["jobs"]
    assert jobs["test"]["services"]["postgres"]["image"] == "${{ needs.go.outputs.postgres }}"
    assert jobs["test"]["env"]["TEST_DATABASE_URL"].startswith("postgres://postgres@localhost:5432/")
    assert jobs["go"]["outputs"]["postgres"] == "${{ steps.pins.outputs.postgres-image }}"
    dockerfile = (project / ".github" / "postgres" / "Dockerfile").read_text(encoding="utf-8")
    (image,) = [line.removeprefix("FROM ") for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert POSTGRES_IMAGE.match(image), image
    assert run([str(project / "build" / "pin.sh"), "postgres-image"], cwd=project).strip() == image
    docker_update = [
        u for u in load(project / ".github" / "dependabot.yml")["updates"] if u["package-ecosystem"] == "docker"
    ]
    assert "/.github/postgres" in docker_update[0]["directories"]


def test_gitlab_tests_run_against_a_postgresql_service(postgres_gitlab_project: Path) -> None:
    """The test job has a PostgreSQL service pinned by tag and digest and sets TEST_DATABASE_URL to it."""
    project = postgres_gitlab_project
    check_schema("vendor.gitlab-ci", project / ".gitlab-ci.yml")
    test = pipeline(project)["test"]
    (service,) = test["services"]
    assert POSTGRES_IMAGE.match(service["name"]), service
    assert test["variables"]["TEST_DATABASE_URL"] == "postgres://postgres@postgres:5432/postgres?sslmode=disable"
    assert service["alias"] == "postgres"
    assert not (project / ".github").exists()


# --- GitHub Actions ---------------------------------------------------------------------


def workflow(project: Path) -> dict[str, Any]:
    """The generated workflow."""
    return load(project / ".github" / "workflows" / "ci.yml")


def steps(project: Path, job: str) -> list[dict[str, Any]]:
    """The steps of one workflow job."""
    return workflow(project)["jobs"][job]["steps"]


def step_using(project: Path, job: str, action: str) -> dict[str, Any]:
    """The one step of a job that uses an action (owner/name, any version)."""
    (step,) = [s for s in steps(project, job) if s.get("uses", "").startswith(f"{action}@")]
    return step


def scripts(project: Path, job: str) -> str:
    """Every run: script of a job, joined."""
    return "\n".join(s["run"] for s in steps(project, job) if "run" in s)


def test_github_workflow_passes_actionlint(github_project: Path) -> None:
    """Actionlint (with shellcheck on the run: scripts) finds nothing in the workflow."""
    actionlint = require_tool("actionlint")
    require_tool("shellcheck")  # actionlint checks run: scripts only when shellcheck is on PATH
    run([actionlint, "-color=false", ".github/workflows/ci.yml"], cwd=github_project)


def test_github_workflow_matches_the_schema(github_project: Path) -> None:
    """The workflow validates against the GitHub workflow schema bundled with check-jsonschema."""
    check_schema("vendor.github-workflows", github_project / ".github" / "workflows" / "ci.yml")


def test_github_workflow_keeps_its_expressions(github_project: Path) -> None:
    """The ${{ }} expressions reach the workflow intact: escaped in the template, not rendered."""
    text = (github_project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert "${{ needs.go.outputs.version }}" in text
    assert "${{ github.workflow }}-${{ github.ref }}" in text
    assert "raw %}" not in text


# --- Thin glue: every step is a make target ------------------------------------------------

# What a run: or script: body may be: one make target (with variables), or a build/ script.
GLUE = re.compile(r'make [a-z-]+( [A-Z_]+="?\$[A-Z_]+"?)*|build/[a-z-]+\.sh( [\w./-]+)*')
# The jobs that may run more: the release (actions and cosign, run by neither runner offline), and
# GitLab's job-image preparations in before_script.
NOT_GLUE = {"publish", "sign"}


def run_bodies(project: Path) -> dict[str, list[str]]:
    """Every run: body of every job of both workflows, by workflow/job."""
    bodies: dict[str, list[str]] = {}
    for name in ("ci.yml", "template-update.yml"):
        for job_name, job in load(project / ".github" / "workflows" / name)["jobs"].items():
            bodies[f"{name}/{job_name}"] = [step["run"].strip() for step in job["steps"] if "run" in step]
    return bodies


def test_every_github_step_is_one_make_target(github_project: Path) -> None:
    """Each run: step of every job but publish is one make target or a build/ script (the go job's: build/pin.sh)."""
    bodies = run_bodies(github_project)
    assert bodies["ci.yml/lint"] == ["make lint"]
    assert bodies["ci.yml/test"] == ["make test"]
    assert bodies["ci.yml/vuln"] == ["make vuln"]
    assert bodies["ci.yml/sbom"] == ["make sbom"]
    assert bodies["ci.yml/image"] == ["make image-test"]
    assert bodies["template-update.yml/update"] == ["make template-status", "make template-update"]
    assert bodies["template-update.yml/pull-request"] == ["make template-update-push"]
    for job, runs in bodies.items():
        if job.split("/")[1] not in NOT_GLUE:
            assert all(GLUE.fullmatch(body) for body in runs), (job, runs)


def test_every_gitlab_script_is_one_make_target(gitlab_project: Path) -> None:
    """Each script of every job but publish and sign is one make target or a build/ script, as on GitHub."""
    config = pipeline(gitlab_project)
    jobs = {name: job for name, job in config.items() if isinstance(job, dict) and "script" in job}
    scripts = {name: job["script"] for name, job in jobs.items()}
    assert scripts["lint"] == ["make lint"]
    assert scripts["test"] == ["make test"]
    assert scripts["vuln"] == ["make vuln"]
    assert scripts["sbom"] == ["make sbom"]
    assert scripts["build-image"] == ['make image-test VERSION="$CI_COMMIT_SHORT_SHA"']
    assert scripts["template-update"] == ["make template-status", "make template-update"]
    assert scripts["template-update-push"] == ["make template-update-push"]
    for name, script in scripts.items():
        if name not in NOT_GLUE:
            assert all(GLUE.fullmatch(line) for line in script), (name, script)


def test_the_makefile_targets_are_the_checks(bake: Bake) -> None:
    """`make lint` runs gofmt, vet and the pinned golangci-lint (never skipped); `make test` runs -race."""
    project = bake()
    lint = (project / "build" / "lint.sh").read_text(encoding="utf-8")
    assert "gofmt -l" in lint
    assert "go vet ./..." in lint
    assert 'golangci_lint="$(go tool -C tools/golangci-lint -n golangci-lint)"' in lint
    assert "skipped" not in lint
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    assert "\tgo test -race ./...\n" in makefile
    hooks = load(project / ".pre-commit-config.yaml")["repos"][0]["hooks"]
    assert [hook["entry"] for hook in hooks if hook["id"] == "lint"] == ["make lint"]


def test_golangci_lint_module_pins_the_release_installed_here(bake: Bake) -> None:
    """tools/golangci-lint/go.mod requires the golangci-lint that the install script puts on PATH for the tests."""
    go_mod = (bake() / "tools" / "golangci-lint" / "go.mod").read_text(encoding="utf-8")
    assert "\ntool github.com/golangci/golangci-lint/v2/cmd/golangci-lint\n" in go_mod
    assert f"\tgithub.com/golangci/golangci-lint/v2 {GOLANGCI_LINT_VERSION} // indirect\n" in go_mod


def test_github_image_job_runs_after_lint_and_test(github_project: Path) -> None:
    """The image is built (BuildKit), run and checked once lint and test pass; publish waits for it and vuln."""
    jobs = workflow(github_project)["jobs"]
    assert sorted(jobs["image"]["needs"]) == ["lint", "test"]
    assert sorted(jobs["publish"]["needs"]) == ["image", "vuln"]


def test_a_newer_push_never_cancels_a_publish(github_project: Path) -> None:
    """Only pull request runs are cancelled by a newer one: a publish runs to its signature."""
    concurrency = workflow(github_project)["concurrency"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"


def test_github_workflow_is_least_privileged(github_project: Path) -> None:
    """The workflow token can only read, and checkouts do not keep credentials."""
    assert workflow(github_project)["permissions"] == {"contents": "read"}
    for job in workflow(github_project)["jobs"]:
        assert step_using(github_project, job, "actions/checkout")["with"]["persist-credentials"] is False


USES_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")


def test_every_action_is_pinned_by_commit_sha(github_project: Path) -> None:
    """Every `uses:` names a full 40-hex commit SHA, with the release it is in a comment beside it."""
    text = (github_project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    uses = [match for line in text.splitlines() if (match := USES_LINE.match(line))]
    assert len(uses) >= 10
    for match in uses:
        action, comment = match.group(1), match.group(2).strip()
        assert USES_PINNED.match(action), action
        assert re.fullmatch(r"# v\d+\.\d+\.\d+", comment), f"{action} {comment}"


def can_run_on_pull_request(job: dict[str, Any]) -> bool:
    """Tell whether a job runs in pull request workflows: it is not limited to push events."""
    return "github.event_name == 'push'" not in str(job.get("if", ""))


def test_pull_request_jobs_hold_no_write_permission(github_project: Path) -> None:
    """The workflow's default token only reads; every job a pull request runs keeps it, and only publish writes."""
    config = workflow(github_project)
    assert config["permissions"] == {"contents": "read"}
    writers = []
    for name, job in config["jobs"].items():
        permissions = job.get("permissions", config["permissions"])
        if "write" in permissions.values():
            writers.append(name)
            assert not can_run_on_pull_request(job), name
    assert writers == ["publish"]


def test_github_publish_job_pushes_a_signed_attested_multi_arch_index(github_project: Path) -> None:
    """Pushes to main and vX.Y.Z tags publish amd64 + arm64 to GHCR, tagged by SHA, branch, semver; signed, attested."""
    config = workflow(github_project)
    triggers = config[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"] == {"branches": ["main"], "tags": ["v[0-9]+.[0-9]+.[0-9]+"]}
    publish = config["jobs"]["publish"]
    assert publish["if"] == "github.event_name == 'push'"
    assert publish["environment"] == "publish"  # its protection rules limit it to protected refs
    assert publish["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    assert step_using(github_project, "publish", "docker/login-action")["with"]["registry"] == "ghcr.io"
    tags = step_using(github_project, "publish", "docker/metadata-action")["with"]["tags"].split()
    assert tags == [
        "type=sha,prefix=,format=long",
        "type=ref,event=branch",
        "type=semver,pattern={{version}}",
        "type=semver,pattern={{major}}.{{minor}}",
    ]
    build = step_using(github_project, "publish", "docker/build-push-action")
    assert build["id"] == "build"
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert (build["with"]["push"], build["with"]["sbom"], build["with"]["provenance"]) == (True, True, "mode=max")
    # The release reads no cache that a pull request could have written.
    assert build["with"]["no-cache"] is True
    assert "cache-from" not in build["with"]
    assert "with" not in step_using(github_project, "publish", "sigstore/cosign-installer")  # its own pinned cosign
    (sign,) = [s for s in steps(github_project, "publish") if "cosign sign" in s.get("run", "")]
    assert sign["run"] == 'cosign sign --yes "$IMAGE@$DIGEST"'
    assert sign["env"]["DIGEST"] == "${{ steps.build.outputs.digest }}"
    attest = step_using(github_project, "publish", "actions/attest-build-provenance")["with"]
    assert attest["subject-digest"] == "${{ steps.build.outputs.digest }}"


def test_dependabot_updates_modules_images_actions_tools_and_pip(github_project: Path) -> None:
    """Dependabot's config is valid and covers Go modules and tools, the builder image, actions and CI's PyPI tools."""
    path = github_project / ".github" / "dependabot.yml"
    check_schema("vendor.dependabot", path)
    updates = load(path)["updates"]
    ecosystems = sorted(update["package-ecosystem"] for update in updates)
    assert ecosystems == ["docker", "github-actions", "gomod", "gomod", "npm", "pip"]
    tools = [update for update in updates if update.get("directories")]
    # Globs: a tools/<name> module or Node tool that an option brings is read without an edit here.
    assert [update["directories"] for update in tools] == [["/tools", "/tools/*"]] * 2
    assert [update.get("allow") for update in tools] == [[{"dependency-type": "all"}], None]


def test_lint_jobs_see_the_base_branch_and_the_release_tags(github_project: Path, gitlab_project: Path) -> None:
    """The lint jobs check out the whole history and tags; every other job keeps the shallow default.

    A LINT_STEPS step may compare files with the base branch or the last release; no credentials are kept.
    """
    for job, job_steps in ((name, steps(github_project, name)) for name in workflow(github_project)["jobs"]):
        checkout = [step for step in job_steps if step.get("uses", "").startswith("actions/checkout@")]
        for step in checkout:
            assert step["with"]["persist-credentials"] is False, job
            assert ("fetch-depth" in step["with"]) == (job in {"lint"}), job
    (lint_checkout,) = [s for s in steps(github_project, "lint") if s.get("uses", "").startswith("actions/checkout@")]
    assert lint_checkout["with"]["fetch-depth"] == 0
    config = pipeline(gitlab_project)
    assert config["lint"]["variables"]["GIT_DEPTH"] == "0"
    assert config["lint"]["script"] == ["make lint"]


def test_pre_commit_lint_hook_runs_for_what_lint_checks(bake: Bake) -> None:
    """The make lint hook runs for Go, YAML (a spec), JSON and makefile changes, not for Go files alone."""
    hooks = load(bake() / ".pre-commit-config.yaml")["repos"][0]["hooks"]
    (lint,) = [hook for hook in hooks if hook["id"] == "lint"]
    assert lint["types_or"] == ["go", "yaml", "json", "makefile"]
    assert "types" not in lint


# --- GitLab CI ------------------------------------------------------------------------------


def pipeline(project: Path) -> dict[str, Any]:
    """The generated GitLab pipeline."""
    return load(project / ".gitlab-ci.yml")


def job_script(job: dict[str, Any]) -> str:
    """A GitLab job's before_script and script, as the shell runs them."""
    return "\n".join([*job.get("before_script", []), *job["script"]])


def test_gitlab_pipeline_matches_the_schema(gitlab_project: Path) -> None:
    """The pipeline validates against the GitLab CI schema bundled with check-jsonschema."""
    check_schema("vendor.gitlab-ci", gitlab_project / ".gitlab-ci.yml", "--data-transform", "gitlab-ci")


def test_gitlab_pipeline_has_the_same_stages(gitlab_project: Path) -> None:
    """As on GitHub: lint, then test, vuln and sbom, then the image; publish and sign are not interruptible."""
    config = pipeline(gitlab_project)
    assert config["stages"] == ["lint", "test", "build", "publish"]
    assert config["variables"]["GO_VERSION"] == GO_VERSION
    stages = {name: config[name]["stage"] for name in ("lint", "test", "vuln", "sbom", "build-image")}
    assert stages == {"lint": "lint", "test": "test", "vuln": "test", "sbom": "test", "build-image": "build"}
    assert config["build-image"]["needs"] == ["lint", "test"]
    assert (config["publish"]["interruptible"], config["sign"]["interruptible"]) == (False, False)


def test_gitlab_job_scripts_pass_shellcheck(gitlab_project: Path, tmp_path: Path) -> None:
    """Every job's shell lines, run as one POSIX sh script, pass shellcheck."""
    shellcheck = require_tool("shellcheck")
    config = pipeline(gitlab_project)
    jobs = {name: job for name, job in config.items() if isinstance(job, dict) and "script" in job}
    assert sorted(jobs) == [
        "build-image",
        "lint",
        "publish",
        "sbom",
        "sign",
        "template-update",
        "template-update-push",
        "test",
        "vuln",
    ]
    for name, job in jobs.items():
        script = tmp_path / f"{name}.sh"
        script.write_text(f"#!/bin/sh\nset -e\n{job_script(job)}\n", encoding="utf-8")
        run([shellcheck, "--shell=sh", str(script)], cwd=tmp_path)


PROTECTED_RELEASE_REFS = [
    '$CI_COMMIT_REF_PROTECTED == "true" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH',
    '$CI_COMMIT_REF_PROTECTED == "true" && $CI_COMMIT_TAG =~ /^v[0-9]+[.][0-9]+[.][0-9]+$/',
]


def test_gitlab_merge_requests_never_push(gitlab_project: Path) -> None:
    """Only publish pushes and sign signs, on protected main or vX.Y.Z; MRs neither log in nor touch the cache."""
    config = pipeline(gitlab_project)
    jobs = {name: job for name, job in config.items() if isinstance(job, dict) and "script" in job}
    pushing = [name for name, job in jobs.items() if "--push" in job_script(job) or "cosign sign" in job_script(job)]
    assert pushing == ["publish", "sign"]
    for name in pushing:
        assert [rule["if"] for rule in config[name]["rules"]] == PROTECTED_RELEASE_REFS, name
    logging_in = [name for name, job in jobs.items() if "docker login" in job_script(job)]
    assert logging_in == ["publish"]


def test_gitlab_publish_pushes_a_signed_attested_multi_arch_index(gitlab_project: Path) -> None:
    """Publish builds amd64 + arm64 with SBOM and provenance, no cache, tags SHA and main or semver; sign signs it."""
    config = pipeline(gitlab_project)
    script = job_script(config["publish"])
    for option in (
        "--platform linux/amd64,linux/arm64",
        "--no-cache",
        "--sbom=true",
        "--provenance=mode=max",
        "--push",
    ):
        assert option in script
    assert "--cache-from" not in script
    assert '--tag "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA"' in script
    assert '--tag "$CI_REGISTRY_IMAGE:$version" --tag "$CI_REGISTRY_IMAGE:${version%.*}"' in script
    assert config["publish"]["artifacts"]["reports"]["dotenv"] == "publish.env"
    sign = config["sign"]
    assert sign["needs"] == ["publish"]
    assert sign["id_tokens"] == {"SIGSTORE_ID_TOKEN": {"aud": "sigstore"}}
    assert 'go install "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION"' in sign["script"]
    assert 'cosign sign "$CI_REGISTRY_IMAGE@$DIGEST"' in sign["script"]


def renovate_pattern(expression: str) -> re.Pattern[str]:
    """Compile a Renovate (RE2) regex in Python: named groups are written (?<name>...) there."""
    return re.compile(expression.replace("(?<", "(?P<"))


def test_renovate_updates_modules_images_and_go(gitlab_project: Path) -> None:
    """Renovate's config is valid, covers Go modules, Dockerfile and GitLab CI images, and finds the Go release."""
    path = gitlab_project / "renovate.json"
    check_schema("vendor.renovate", path)
    config = json.loads(path.read_text(encoding="utf-8"))
    assert {"gomod", "dockerfile", "gitlabci", "pip_requirements", "pre-commit"} <= set(config["enabledManagers"])
    go_version, variables = config["customManagers"]
    found = {}
    for name in ("Dockerfile", ".gitlab-ci.yml"):
        text = (gitlab_project / name).read_text(encoding="utf-8")
        matches = [m for expression in go_version["matchStrings"] for m in renovate_pattern(expression).finditer(text)]
        found[name] = [m.group("currentValue") for m in matches]
    # The Dockerfile's builder image is the dockerfile manager's: named in FROM, pinned by tag (and digest).
    assert found == {"Dockerfile": [], ".gitlab-ci.yml": [GO_VERSION]}
    text = (gitlab_project / ".gitlab-ci.yml").read_text(encoding="utf-8")
    (marked,) = [m.groupdict() for m in renovate_pattern(variables["matchStrings"][0]).finditer(text)]
    cosign = pipeline(gitlab_project)["variables"]["COSIGN_VERSION"]
    assert marked == {"datasource": "go", "depName": "github.com/sigstore/cosign/v3", "currentValue": cosign}
    # The Dockerfile's and the jobs' images are pinned by digest (Renovate's first update adds them).
    assert {"matchManagers": ["dockerfile", "gitlabci"], "pinDigests": True}.items() <= config["packageRules"][
        0
    ].items()


RELEASE_TAGS = {"v1.2.3": True, "v10.20.30": True, "v1.2": False, "v1.2.3-rc.1": False, "1.2.3": False, "vx.y.z": False}


def github_filter_matches(pattern: str, ref: str) -> bool:
    """Match a ref against a GitHub Actions filter pattern of literal text, `.` and `[0-9]+` (as the workflow uses)."""
    assert re.fullmatch(r"(v|\.|\[0-9\]\+)+", pattern), f"pattern outside what this check reads: {pattern}"
    return re.fullmatch(pattern.replace(".", r"\."), ref) is not None


def test_both_platforms_publish_the_same_release_tags(github_project: Path, gitlab_project: Path) -> None:
    """GitHub's tag filter and GitLab's publish rule accept the same refs: vX.Y.Z, nothing else."""
    (github_pattern,) = workflow(github_project)[True]["push"]["tags"]
    rule = pipeline(gitlab_project)["publish"]["rules"][1]["if"]
    gitlab_pattern = re.search(r"=~ /(.+)/$", rule).group(1)
    for ref, publishes in RELEASE_TAGS.items():
        assert github_filter_matches(github_pattern, ref) == publishes, ref
        assert (re.search(gitlab_pattern, ref) is not None) == publishes, ref


# --- Template updates: the scheduled job that opens the pull or merge request ----------------

TEMPLATE_UPDATE_WORKFLOW = Path(".github") / "workflows" / "template-update.yml"


def update_workflow(project: Path) -> dict[str, Any]:
    """The generated template-update workflow."""
    return load(project / TEMPLATE_UPDATE_WORKFLOW)


def test_template_update_workflow_passes_actionlint_and_the_schema(github_project: Path) -> None:
    """Actionlint (with shellcheck) finds nothing in the update workflow, which validates against the schema."""
    actionlint = require_tool("actionlint")
    require_tool("shellcheck")
    run([actionlint, "-color=false", str(TEMPLATE_UPDATE_WORKFLOW)], cwd=github_project)
    check_schema("vendor.github-workflows", github_project / TEMPLATE_UPDATE_WORKFLOW)


def test_template_update_workflow_alone_writes_on_a_schedule(github_project: Path) -> None:
    """Weekly and on demand only; the job that runs the release reads only, the job that writes runs no release code."""
    config = update_workflow(github_project)
    assert config[True] == {"schedule": [{"cron": "23 5 * * 1"}], "workflow_dispatch": None}
    assert config["permissions"] == {}
    update, pull_request = config["jobs"]["update"], config["jobs"]["pull-request"]
    assert update["permissions"] == {"contents": "read"}
    assert pull_request["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert pull_request["needs"] == ["update"]
    for job in (update, pull_request):
        (checkout,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
        assert checkout["with"]["persist-credentials"] is False
    # The token is named in the writing job's push step alone.
    text = (github_project / TEMPLATE_UPDATE_WORKFLOW).read_text(encoding="utf-8")
    assert text.count("secrets.GITHUB_TOKEN") == 1
    (push,) = [step for step in pull_request["steps"] if "GH_TOKEN" in step.get("env", {})]
    assert push["run"] == "make template-update-push"
    uses = [match for line in text.splitlines() if (match := USES_LINE.match(line))]
    assert len(uses) == 5
    for match in uses:
        assert USES_PINNED.match(match.group(1)), match.group(1)
        assert re.fullmatch(r"# v\d+\.\d+\.\d+", match.group(2).strip())


def test_gitlab_template_update_runs_only_on_schedule(gitlab_project: Path) -> None:
    """Scheduled pipelines only; the token's environment is named by the push job alone, which runs no release code."""
    config = pipeline(gitlab_project)
    update, push = config["template-update"], config["template-update-push"]
    for job in (update, push):
        assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
        assert job["interruptible"] is False
    assert push["environment"] == {"name": "template-update", "action": "access"}
    assert push["needs"] == ["template-update"]
    assert push["variables"]["GIT_STRATEGY"] == "clone"
    others = [name for name, other in config.items() if isinstance(other, dict) and name != "template-update-push"]
    assert not [
        name for name in others if "environment" in config[name] or "TEMPLATE_UPDATE_TOKEN" in str(config[name])
    ]


# --- pre-commit ----------------------------------------------------------------------------


def pre_commit_pins() -> dict[str, str]:
    """The versions that pyproject.toml pins for the PyPI tools the hooks install."""
    dev = tomllib.loads((TEMPLATE_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = [entry.split("#")[0].strip() for entry in dev["optional-dependencies"]["dev"]]
    return dict(pin.split("==") for pin in pins if "==" in pin)


@pytest.mark.parametrize("ci", ["github", "gitlab", "none"])
def test_pre_commit_hooks_need_no_github(bake: Bake, ci: str) -> None:
    """Every hook is local: system tools or PyPI packages pinned as the template's own tests pin them."""
    config = load(bake(ci=ci) / ".pre-commit-config.yaml")
    (repo,) = config["repos"]
    assert repo["repo"] == "local"
    pins = pre_commit_pins()
    for hook in repo["hooks"]:
        assert hook["language"] in {"system", "python"}, hook["id"]
        for dependency in hook.get("additional_dependencies", []):
            name, version = dependency.split("==")
            assert pins.get(name) == version, dependency


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A private pre-commit cache for this run, shared by the xdist workers (pre-commit locks it): envs built once."""
    base = tmp_path_factory.getbasetemp()
    home = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "pre-commit-home"
    home.mkdir(exist_ok=True)
    return {"PRE_COMMIT_HOME": str(home)}


@pytest.mark.slow
@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_pre_commit_runs_clean_on_a_new_project(bake: Bake, pre_commit_home: dict[str, str], ci: str) -> None:
    """pre-commit installs into a new repository and every hook passes on the generated files."""
    pre_commit = require_tool("pre-commit")
    require_tool("golangci-lint")
    project = bake(ci=ci, prometheus_metrics=True)
    git(project, "init", "--quiet")
    git(project, "add", "--all")
    run([pre_commit, "install"], cwd=project, env=pre_commit_home)
    assert (project / ".git" / "hooks" / "pre-commit").is_file()
    output = run([pre_commit, "run", "--all-files", "--color=never"], cwd=project, env=pre_commit_home)
    results = dict(re.findall(r"^(.+?)\.{2,}(Passed|Failed|Skipped)$", output, re.MULTILINE))
    hooks = load(project / ".pre-commit-config.yaml")["repos"][0]["hooks"]
    assert results == {hook["name"]: "Passed" for hook in hooks}, output


@pytest.mark.slow
def test_pre_commit_hook_stops_a_badly_formatted_commit(bake: Bake, pre_commit_home: dict[str, str]) -> None:
    """The installed hook refuses a commit with unformatted Go and gofmt fixes the file."""
    pre_commit = require_tool("pre-commit")
    require_tool("golangci-lint")
    project = bake(ci="none")
    git(project, "init", "--quiet")
    run([pre_commit, "install"], cwd=project, env=pre_commit_home)
    (project / "extra.go").write_text("package main\nfunc  extra( ) int {return 1}\n", encoding="utf-8")
    git(project, "add", "--all")
    commit = subprocess.run(
        ["git", "commit", "--quiet", "-m", "unformatted"],
        cwd=project,
        env={**os.environ, **GIT_IDENTITY, **pre_commit_home},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert commit.returncode != 0
    assert "gofmt" in commit.stdout + commit.stderr
    assert "func extra() int { return 1 }" in (project / "extra.go").read_text(encoding="utf-8")
