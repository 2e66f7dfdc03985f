"""The CI runners harness (harness/runners.py) itself, on small CI files written here, and on the template's own CI.

act runs GitHub workflows on the host with the offline stand-ins of harness/actions/; gitlab-ci-local runs
GitLab pipelines in the shell. Neither needs Docker: these tests are in the unit tier.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.golang_image import local_go_version
from harness.repositories import template_repository
from harness.runners import act, gitlab_ci_local, go_env
from harness.template import TEMPLATE_DIR

pytestmark = pytest.mark.slow

# The template's default Go release: newer than this machine's, so the stand-in must fetch it.
DEFAULT_GO_VERSION: str = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))["go_version"]
# Pinned as workflows pin them; the stand-ins answer any ref.
UPLOAD = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2"
DOWNLOAD = "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0"
SETUP_GO = "actions/setup-go@b7ad1dad31e06c5925ef5d2fc7ad053ef454303e # v7.0.0"
CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"

TWO_JOBS = f"""\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      word: ${{{{ steps.make.outputs.word }}}}
    steps:
      - uses: {CHECKOUT}
      - id: make
        run: |
          mkdir -p dist/nested
          echo "hello from build" > dist/message.txt
          echo "deep" > dist/nested/file.txt
          echo "word=from-build" >> "$GITHUB_OUTPUT"
      - uses: {UPLOAD}
        with:
          name: dist
          path: dist/
          if-no-files-found: error
  use:
    needs: build
    runs-on: ubuntu-latest
    env:
      TOKEN: ${{{{ secrets.TOKEN }}}}
    steps:
      - uses: {DOWNLOAD}
        with:
          name: dist
          path: downloaded
      - run: |
          echo "word=${{{{ needs.build.outputs.word }}}}"
          echo "artifact: $(cat downloaded/message.txt) $(cat downloaded/nested/file.txt)"
          echo "greeting=$GREETING token-length=${{#TOKEN}} leak=${{HARNESS_LEAK_PROBE:-absent}}"
"""

SETUP_GO_JOBS = f"""\
on: push
jobs:
  from-input:
    runs-on: ubuntu-latest
    steps:
      - id: go
        uses: {SETUP_GO}
        with:
          go-version: "{DEFAULT_GO_VERSION}"
          cache: false
      - run: |
          go version
          echo "input output=${{{{ steps.go.outputs.go-version }}}} toolchain=$GOTOOLCHAIN"
  from-file:
    needs: from-input
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}
      - id: go
        uses: {SETUP_GO}
        with:
          go-version-file: .go-version
      - run: echo "file output=${{{{ steps.go.outputs.go-version }}}} $(go version)"
"""

FAILING = """\
on: push
jobs:
  fail:
    runs-on: ubuntu-latest
    steps:
      - run: echo "before the failure"
      - run: exit 3
      - run: echo "never reached"
"""

PIPELINE = """\
stages: [build, test]
variables:
  GOPATH: $CI_PROJECT_DIR/.go
build:
  stage: build
  script:
    - mkdir -p out
    - echo "hello from build" > out/message.txt
    - echo "BUILT_VERSION=1.2.3" > build.env
    - echo "GOPATH is $(go env GOPATH), leak=${HARNESS_LEAK_PROBE:-absent}"
  artifacts:
    paths: [out/]
    reports:
      dotenv: build.env
test:
  stage: test
  needs: [build]
  script:
    - echo "artifact=$(cat out/message.txt) version=$BUILT_VERSION"
"""

FAILING_PIPELINE = """\
fail:
  script:
    - echo "before the failure"
    - exit 3
    - echo "never reached"
"""


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    """A project folder holding the given files."""
    project = tmp_path / "project"
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    return project


def test_act_passes_outputs_artifacts_env_and_secrets_between_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Job 2 reads job 1's output and artifact; the run sees env and secrets, and nothing else from the host."""
    monkeypatch.setenv("HARNESS_LEAK_PROBE", "leaked")
    project = project_with(tmp_path, {".github/workflows/ci.yml": TWO_JOBS})
    result = act(
        project,
        ".github/workflows/ci.yml",
        "use",
        env={"GREETING": "hi"},
        secrets={"TOKEN": "s3cret"},
        run_dir=tmp_path / "run",
    ).check()
    assert "word=from-build" in result.output
    assert "artifact: hello from build deep" in result.output
    assert "greeting=hi token-length=6 leak=absent" in result.output
    assert (tmp_path / "run" / "artifacts" / "dist" / "nested" / "file.txt").read_text() == "deep\n"


def test_setup_go_standin_gives_exactly_the_requested_go(tmp_path: Path) -> None:
    """go-version and go-version-file both give the named release (not the local Go), and the action's output."""
    assert local_go_version() != DEFAULT_GO_VERSION, "pick a version the machine does not have"
    files = {".github/workflows/go.yml": SETUP_GO_JOBS, ".go-version": f"{DEFAULT_GO_VERSION}\n"}
    project = project_with(tmp_path, files)
    result = act(project, ".github/workflows/go.yml", "from-file", run_dir=tmp_path / "run").check()
    assert f"go version go{DEFAULT_GO_VERSION} linux/" in result.output
    assert f"input output={DEFAULT_GO_VERSION} toolchain=local" in result.output
    assert f"file output={DEFAULT_GO_VERSION} go version go{DEFAULT_GO_VERSION} linux/" in result.output


def test_a_failing_step_fails_the_act_run(tmp_path: Path) -> None:
    """A step that exits non-zero fails the run, and the steps after it do not run (the control)."""
    project = project_with(tmp_path, {".github/workflows/fail.yml": FAILING})
    result = act(project, ".github/workflows/fail.yml", "fail", run_dir=tmp_path / "run")
    assert result.returncode != 0
    assert "before the failure" in result.output
    assert "never reached" not in result.output


def test_gitlab_ci_local_passes_artifacts_and_dotenv_between_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test stage gets build's artifact and dotenv report; GOPATH is the run's, not /builds; no host leak."""
    monkeypatch.setenv("HARNESS_LEAK_PROBE", "leaked")
    project = project_with(tmp_path, {".gitlab-ci.yml": PIPELINE})
    result = gitlab_ci_local(project, "test", run_dir=tmp_path / "run").check()
    assert f"GOPATH is {tmp_path / 'run' / 'gopath'}, leak=absent" in result.output
    assert "artifact=hello from build version=1.2.3" in result.output
    assert not (project / "out").exists(), "the jobs ran on a copy"


def test_a_failing_job_fails_the_gitlab_ci_local_run(tmp_path: Path) -> None:
    """A script line that exits non-zero fails the job and the run (the control)."""
    project = project_with(tmp_path, {".gitlab-ci.yml": FAILING_PIPELINE})
    result = gitlab_ci_local(project, "fail", run_dir=tmp_path / "run")
    assert result.returncode != 0
    assert "before the failure" in result.output
    assert "never reached" not in result.output


def test_template_ci_unit_job_runs_under_act(tmp_path: Path) -> None:
    """The template's own workflow, job unit (setup-go, then scripts/test.sh unit), runs a few tests under act."""
    repository = template_repository(tmp_path)
    tests = "-p no:cacheprovider -k 'refused_with_one_line and project_slug'"
    # The host's GOPATH: its bin holds the pinned Go tools that install-go-tools.sh would otherwise build.
    env = {"PYTEST_ADDOPTS": tests, "GOPATH": go_env()["GOPATH"]}
    result = act(repository, ".github/workflows/ci.yml", "unit", env=env, run_dir=tmp_path / "run").check()
    assert f"go version go{(repository / '.github' / 'go-version').read_text().strip()} " in result.output
    summary = re.search(r"=+ (\d+) passed in [\d.]+s =+", result.output)
    assert summary, result.output[-5000:]
    assert int(summary[1]) >= 5
