"""Run CI files offline with the runners people use locally: act for GitHub Actions, gitlab-ci-local for GitLab CI.

scripts/install-runners.sh installs both (versions.json). Jobs run on this machine, in the shell: act in host
mode (`-P <label>=-self-hosted`), gitlab-ci-local with `--force-shell-executor`; neither needs Docker for
itself, though a job may call `docker`.

The environment is chosen, never inherited: both runners hand their own environment to every job (act's
host mode even lets it leak past the workflow's), so they run with `base_environment()` only: PATH (Go,
git, the Docker client, Python, the system folders), HOME, LANG, the host's proxy, CA, pip and Go proxy
settings when set, and the Go caches. GOMODCACHE and GOCACHE are the host's, shared by every job of every
run (nothing is downloaded or compiled twice); GOPATH is the run's own, so that a job's `go install` never
replaces a host tool.

act: actions that need the network are replaced by the stand-ins in harness/actions/ (`--local-repository`
at the ref each `uses:` pins); actions/checkout needs none (act copies the working tree). The stand-ins'
artifacts live in `<run folder>/artifacts`, shared by the jobs of one run (HARNESS_ARTIFACT_DIR).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.build import CACHE_DIR
from harness.repositories import git
from harness.template import TEMPLATE_DIR
from harness.tools import file_lock

INSTALL_SCRIPT = TEMPLATE_DIR / "scripts" / "install-runners.sh"
ACTIONS_DIR = Path(__file__).resolve().parent / "actions"
# The actions that need the network, and their offline stand-ins (harness/actions/README.md).
STANDINS = {
    "actions/setup-go": ACTIONS_DIR / "setup-go",
    "actions/upload-artifact": ACTIONS_DIR / "upload-artifact",
    "actions/download-artifact": ACTIONS_DIR / "download-artifact",
}
# `uses: owner/repo[/path]@ref`, quoted or not, with or without a trailing comment.
USES = re.compile(r"""^[\s-]*uses:\s*['"]?([\w.-]+/[\w.-]+)(?:/[^@\s'"]*)?@([^\s'"#]+)""", re.MULTILINE)
SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
# Host settings a job needs to reach what this machine reaches (proxies, CA bundles, package indexes).
PASSED_THROUGH = (
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_CERT",
    "GOPROXY",
    "GOSUMDB",
    "GONOSUMDB",
    "GOPRIVATE",
    "GOFLAGS",
    "XDG_CACHE_HOME",
)
DEFAULT_REMOTE = "https://github.com/example/project.git"
# Colours and cursor moves: act runs every step on a pseudo-terminal, so tools colour their output.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class Completed:
    """A finished run: the runner's exit code, output (stdout and stderr interleaved, no ANSI escapes), folder."""

    returncode: int
    output: str
    workdir: Path

    def check(self) -> Completed:
        """Fail the test with the run's output unless it succeeded; return self."""
        if self.returncode != 0:
            pytest.fail(f"the run in {self.workdir} exited {self.returncode}:\n{self.output[-20000:]}")
        return self


@dataclass(frozen=True)
class Runners:
    """The installed runners: act's binary, gitlab-ci-local's script and the Node that runs it."""

    act: Path
    gitlab_ci_local: Path
    node: Path


@functools.cache
def installed_runners() -> Runners:
    """Install the pinned runners once (locked across xdist workers); skip without them, fail in CI."""
    with file_lock(CACHE_DIR / "runners.lock"):
        result = subprocess.run(
            ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=1200, check=False
        )
    if result.returncode != 0:
        message = f"scripts/install-runners.sh failed:\n{result.stderr[-4000:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    modules = Path(result.stdout.strip().splitlines()[-1]) / "node_modules"
    return Runners(
        act=go_bin() / "act",
        gitlab_ci_local=modules / "gitlab-ci-local" / "dist" / "index.js",
        node=modules / ".bin" / "node",
    )


@functools.cache
def go_env() -> dict[str, str]:
    """The host Go's settings that the runs share: GOBIN, GOPATH, GOMODCACHE, GOCACHE."""
    output = subprocess.run(
        ["go", "env", "-json", "GOBIN", "GOPATH", "GOMODCACHE", "GOCACHE"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return json.loads(output)


def go_bin() -> Path:
    """Where `go install` puts the host's Go tools (install-go-tools.sh's folder)."""
    settings = go_env()
    return Path(settings["GOBIN"] or Path(settings["GOPATH"].split(os.pathsep)[0]) / "bin")


def tool_folders() -> list[str]:
    """The folders of the tools jobs expect: go, git, the Docker client, python3 (>= 3.11, this one's base)."""
    found = [shutil.which(name) for name in ("go", "git", "docker")]
    folders = [str(Path(path).parent) for path in found if path]
    folders.append(str(Path(sys.base_prefix) / "bin"))
    return list(dict.fromkeys(folders))


def base_environment(run_dir: Path) -> dict[str, str]:
    """The whole environment of a runner and its jobs: chosen variables only (module docstring)."""
    gopath = run_dir / "gopath"
    gopath.mkdir(parents=True, exist_ok=True)
    environment = {name: os.environ[name] for name in PASSED_THROUGH if os.environ.get(name)}
    return {
        **environment,
        "PATH": os.pathsep.join(dict.fromkeys([*tool_folders(), *SYSTEM_PATH])),
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
        "GOPATH": str(gopath),
        "GOMODCACHE": go_env()["GOMODCACHE"],
        "GOCACHE": go_env()["GOCACHE"],
    }


def git_repository(project: Path, remote: str = DEFAULT_REMOTE) -> None:
    """Make project a git repository with one commit and an origin remote, unless it is one already.

    Both runners read the commit and the remote (github.repository, CI_PROJECT_PATH); nothing is fetched.
    """
    if (project / ".git").exists():
        return
    git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "-m", "Under test")
    add_origin(project, remote)


def add_origin(project: Path, remote: str) -> None:
    """Give a repository on main the origin a clone has: the remote, origin/main and origin/HEAD.

    Both runners read the repository's name from it, and gitlab-ci-local the default branch; nothing is fetched.
    """
    git(project, "remote", "add", "origin", remote)
    git(project, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(project, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")


def as_clone(project: Path, remote: str) -> Path:
    """Give a committed project the origin `remote` (never reached) and a bare copy of it to push to; return that.

    The copy is where a job pushes when TEMPLATE_UPDATE_REMOTE names it.
    """
    bare = project.parent / "remote.git"
    git(project.parent, "clone", "--quiet", "--bare", str(project), str(bare))
    add_origin(project, remote)
    return bare


def pinned_actions(workflow: Path) -> list[tuple[str, str]]:
    """The (owner/repo, ref) of every action the workflow uses, in order, without repeats."""
    return list(dict.fromkeys(USES.findall(workflow.read_text(encoding="utf-8"))))


def standin_arguments(workflow: Path) -> list[str]:
    """Give act a --local-repository for every stand-in action the workflow uses, at the ref it pins."""
    return [
        f"--local-repository={action}@{ref}={STANDINS[action]}"
        for action, ref in pinned_actions(workflow)
        if action in STANDINS
    ]


def write_dotenv(path: Path, values: Mapping[str, str]) -> Path:
    """Write KEY=value lines, as act's --env-file, --secret-file and --var-file read them."""
    for name, value in values.items():
        if "\n" in value or "\n" in name:
            raise ValueError(f"{name}: act's files take one-line values")
    path.write_text("".join(f"{name}={json.dumps(value)}\n" for name, value in values.items()), encoding="utf-8")
    return path


def run_bounded(command: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float) -> tuple[int, str]:
    """Run a command in a session of its own; kill the session when it ends or at the timeout (which fails)."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"`{' '.join(command[:4])} ...` did not finish in {timeout:.0f} s:\n{output[-20000:]}")
    finally:
        # Whatever a job left running in the background (a server started with &) ends with the run.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return process.returncode, ANSI_ESCAPE.sub("", output)


def act(
    project: Path,
    workflow: str,
    job: str,
    *,
    event: str = "push",
    event_payload: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    runs_on: Sequence[str] = ("ubuntu-latest",),
    run_dir: Path | None = None,
    timeout: float = 1200,
) -> Completed:
    """Run a workflow's job (and the jobs it needs) with act on the host; return its outcome.

    project becomes a git repository if it is not one. env goes to act's --env-file: every job sees it, and
    it overrides base_environment() (PATH included) and act's github context (GITHUB_SERVER_URL,
    GITHUB_API_URL). secrets and variables are the workflow's `secrets` and `vars`, through files (never the
    command line). event_payload is the event's JSON (github.event); for pull_request give its top-level
    `number` too (act builds GITHUB_REF refs/pull/<number>/merge from it). runs_on lists the labels run on the host.
    """
    runners = installed_runners()
    git_repository(project)
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="act-"))
    artifacts = run_dir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    (run_dir / "event.json").write_text(json.dumps(event_payload or {}), encoding="utf-8")
    command = [
        str(runners.act),
        event,
        f"--workflows={workflow}",
        f"--job={job}",
        *[f"--platform={label}=-self-hosted" for label in runs_on],
        "--no-cache-server",
        f"--action-cache-path={run_dir / 'act-cache'}",
        f"--eventpath={run_dir / 'event.json'}",
        f"--env-file={write_dotenv(run_dir / 'env', env or {})}",
        f"--secret-file={write_dotenv(run_dir / 'secrets', secrets or {})}",
        f"--var-file={write_dotenv(run_dir / 'vars', variables or {})}",
        f"--input-file={write_dotenv(run_dir / 'inputs', {})}",
        *standin_arguments(project / workflow),
    ]
    environment = {
        **base_environment(run_dir),
        "HARNESS_ARTIFACT_DIR": str(artifacts),
        "ACT_DISABLE_VERSION_CHECK": "1",  # act would ask api.nektosact.com for notices
    }
    returncode, output = run_bounded(command, project, environment, timeout)
    return Completed(returncode, output, run_dir)


def gitlab_ci_local(
    project: Path,
    job: str | Sequence[str] | None = None,
    *,
    variables: Mapping[str, str] | None = None,
    scoped_variables: Mapping[str, Mapping[str, str]] | None = None,
    needs: bool = True,
    run_dir: Path | None = None,
    timeout: float = 1200,
) -> Completed:
    """Run pipeline jobs with gitlab-ci-local in the shell, on a copy of project; return the outcome.

    job: one job, several, or None for the whole pipeline; with needs, the jobs they need run first.
    variables are added to every job (--variable) and override the file's, as GOPATH does: the run's own,
    where a job's `GOPATH: $CI_PROJECT_DIR/.go` would write to the host's /builds. scoped_variables are
    project variables limited to environments ({name: {environment scope: value}}), as GitLab gives a
    protected token only to the jobs of its environment. Each job runs in a fresh copy of its own
    (--shell-isolation), as GitLab's runners check out every job anew: nothing one job writes in its folder,
    .git included, reaches the next but through artifacts. The copy (Completed.workdir) keeps the jobs'
    folders in .gitlab-ci-local/builds/<job> and their artifacts in .gitlab-ci-local/artifacts/<job>.
    """
    runners = installed_runners()
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="gitlab-ci-local-"))
    copy = run_dir / "project"
    shutil.copytree(project, copy, symlinks=True, ignore=shutil.ignore_patterns(".gitlab-ci-local"))
    git_repository(copy, "https://gitlab.com/example/project.git")
    environment = base_environment(run_dir)
    overrides = {"GOPATH": environment["GOPATH"], "GOMODCACHE": environment["GOMODCACHE"]}
    overrides |= {"GOCACHE": environment["GOCACHE"], **(variables or {})}
    jobs = [job] if isinstance(job, str) else list(job or [])
    variables_file = run_dir / "variables.yml"
    scoped = {name: {"values": dict(scopes)} for name, scopes in (scoped_variables or {}).items()}
    variables_file.write_text(json.dumps(scoped), encoding="utf-8")  # JSON is YAML
    command = [
        str(runners.node),
        str(runners.gitlab_ci_local),
        "--force-shell-executor",
        "--shell-isolation",
        f"--variables-file={variables_file}",
        f"--home={run_dir / 'gitlab-ci-local-home'}",  # not the user's ~/.gitlab-ci-local/variables.yml
        "--no-color",
        *[f"--variable={name}={value}" for name, value in overrides.items()],
        *(["--needs"] if needs and jobs else []),
        *jobs,
    ]
    returncode, output = run_bounded(command, copy, environment, timeout)
    return Completed(returncode, output, copy)


# Where a GitLab job's docker:dind service would be: the host's engine, reached without TLS.
HOST_ENGINE = {"DOCKER_HOST": "unix:///var/run/docker.sock", "DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": ""}


def without_services(project: Path) -> Path:
    """Drop the jobs' services from a copy's .gitlab-ci.yml; everything else in the file is kept.

    The caller provides them (the host's Docker engine as HOST_ENGINE, a loopback PostgreSQL), as act ignores
    `services:` in host mode; gitlab-ci-local would pull their images.
    """
    path = project / ".gitlab-ci.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    for job in config.values():
        if isinstance(job, dict):
            job.pop("services", None)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return project
