"""Time every job of the generated CI that runs offline, under the runners the tests use; print a table.

    .venv/bin/python -m bench.ci_jobs            # from the repository root, after bash scripts/test.sh unit

Each job runs on a new default project (GitHub Actions under act, GitLab CI under gitlab-ci-local), twice:
the first run fills the Go caches the runs share, the second is what a warm machine sees. The seconds are
the job's own, as the runner reports them (act: the sum of its steps; gitlab-ci-local: "finished in"),
so the jobs a job needs are not counted in it. Needs a Docker engine for the image jobs; figures only,
nothing is asserted.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from cookiecutter.main import cookiecutter

from harness.answers import COOKIECUTTER_JSON
from harness.api_recorder import recording_api
from harness.golang_image import ensure_golang_image
from harness.project import GO_VERSION
from harness.repositories import made_by_cli, release_repository, release_v2
from harness.runners import HOST_ENGINE, Completed, act, as_clone, gitlab_ci_local, without_services
from harness.template import TEMPLATE_DIR
from harness.vulndb import vulndb

GO = COOKIECUTTER_JSON["go_version"]
ACT_STEP = re.compile(r"^\[[^/\]]+/([^\]]+?)\s*\]\s+\S+\s+(Success|Failure) - .*\[([0-9.hmsµn]+)\]$")
GO_DURATION = re.compile(r"([0-9.]+)(h|ms|µs|ns|m|s)")
GITLAB_JOB = re.compile(r"^(\S+)\s+finished in ([0-9.]+) (ms|s|min)")


def seconds(value: str, unit: str) -> float:
    """A duration as gitlab-ci-local prints it, in seconds."""
    return float(value) * {"ms": 0.001, "s": 1.0, "min": 60.0}[unit]


def go_seconds(duration: str) -> float:
    """A Go duration as act prints it (1m2.5s, 350ms), in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "µs": 1e-6, "ns": 1e-9}
    return sum(float(number) * units[unit] for number, unit in GO_DURATION.findall(duration))


def act_job_seconds(result: Completed, job: str) -> float:
    """The sum of one job's step durations in act's output."""
    total = 0.0
    for line in result.output.splitlines():
        match = ACT_STEP.match(line.strip())
        if match and match.group(1) == job:
            total += go_seconds(match.group(3))
    return total


def gitlab_job_seconds(result: Completed, job: str) -> float:
    """One job's duration as gitlab-ci-local reports it."""
    for line in result.output.splitlines():
        match = GITLAB_JOB.match(line.strip())
        if match and match.group(1) == job:
            return seconds(match.group(2), match.group(3))
    return float("nan")


def bake(directory: Path, ci: str) -> Path:
    """A new default project for the platform, at the default go_version."""
    context = {"project_slug": "bench-ci", "ci": ci, "go_version": GO}
    return Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(directory), extra_context=context))


def timed_twice(run: Callable[[], Completed], measure: Callable[[Completed], float]) -> tuple[float, float, str]:
    """Run a job twice; its first and second durations and the second run's outcome."""
    first = run()
    second = run()
    return measure(first), measure(second), "passed" if second.returncode == 0 else "failed"


def update_rows(work: Path) -> list[tuple[str, str, float, float, str]]:
    """The template update's two jobs on each platform, from v1 to a local v2 (a new project and remote each run)."""
    rows = []
    for ci, jobs in (("github", ("Template update (no token)", "Push the branch and open the pull request")),
                     ("gitlab", ("template-update", "template-update-push"))):  # fmt: skip
        durations = []
        for attempt in range(2):
            base = work / f"update-{ci}-{attempt}"
            template = release_repository(base)
            project = made_by_cli(
                template, base / "made", {"project_slug": "bench-ci", "ci": ci, "go_version": GO_VERSION}
            )
            remote = as_clone(project, f"https://{ci}.com/example/project.git")
            release_v2(template)
            with recording_api() as api:
                env = {"TEMPLATE_UPDATE_REMOTE": str(remote), "TEMPLATE_UPDATE_API": api.url}
                if ci == "github":
                    result = act(project, ".github/workflows/template-update.yml", "pull-request",
                                 event="workflow_dispatch", env=env, secrets={"GITHUB_TOKEN": "bench"})  # fmt: skip
                    durations.append([act_job_seconds(result, job) for job in jobs])
                else:
                    variables = {**env, "GOTOOLCHAIN": f"go{GO_VERSION}", "CI_PIPELINE_SOURCE": "schedule"}
                    scoped = {"TEMPLATE_UPDATE_TOKEN": {"template-update": "bench"}}
                    result = gitlab_ci_local(project, jobs[1], variables=variables, scoped_variables=scoped)
                    durations.append([gitlab_job_seconds(result, job) for job in jobs])
        outcome = "passed" if result.returncode == 0 else "failed"
        for index, job in enumerate(jobs):
            rows.append(
                ("act" if ci == "github" else "gitlab-ci-local", job, durations[0][index], durations[1][index], outcome)
            )
    return rows


def main() -> None:
    """Print one row per job: runner, job, first run, second run, outcome."""
    work = Path(tempfile.mkdtemp(prefix="bench-ci-"))
    env = {"GOLANG_IMAGE": ensure_golang_image(f"go{GO}"), "VULN_DB": vulndb().as_uri()}
    github = bake(work / "github", "github")
    rows = []
    for workflow_job, name in [("go", "Go release"), ("lint", "Lint"), ("test", "Test"), ("vuln", "Vulnerabilities"),
                               ("sbom", "SBOM"), ("image", "Image")]:  # fmt: skip
        first, second, outcome = timed_twice(
            lambda job=workflow_job: act(github, ".github/workflows/ci.yml", job, env=env),
            lambda result, name=name: act_job_seconds(result, name),
        )
        rows.append(("act", workflow_job, first, second, outcome))
    gitlab = without_services(bake(work / "gitlab", "gitlab"))
    variables = {**env, **HOST_ENGINE, "GOTOOLCHAIN": f"go{GO}"}
    for job in ("lint", "test", "vuln", "sbom", "build-image"):
        first, second, outcome = timed_twice(
            lambda job=job: gitlab_ci_local(gitlab, job, variables=variables, needs=False),
            lambda result, job=job: gitlab_job_seconds(result, job),
        )
        rows.append(("gitlab-ci-local", job, first, second, outcome))
    rows += update_rows(work)
    print("| runner | job | first run (s) | second run (s) | outcome |\n| --- | --- | --- | --- | --- |")
    for runner, job, first, second, outcome in rows:
        print(f"| {runner} | {job} | {first:.1f} | {second:.1f} | {outcome} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
