"""The template repository itself: its checks pass, its pins hold, and its documented commands are the real ones."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from harness.project import TEMPLATE_DIR
from harness.tools import require_tool, run


def repository_files() -> list[str]:
    """The files git tracks or would track (untracked but not ignored)."""
    output = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=TEMPLATE_DIR)
    return [name for name in output.splitlines() if (TEMPLATE_DIR / name).is_file()]


def test_ci_runs_the_test_command_from_the_readme() -> None:
    """`.ci/run` ends with the README's test command, so CI tests what newcomers run."""
    readme = (TEMPLATE_DIR / "README.md").read_text()
    section = readme.split("## Run the tests", 1)[1]
    (command,) = re.findall(r"```sh\n(.+?)\n```", section, re.DOTALL)[:1]
    ci_commands = [line for line in (TEMPLATE_DIR / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert ci_commands[-1] == command


def test_readme_demo_command_exists() -> None:
    """The README's generate-and-run command names a script that is in the repository."""
    readme = (TEMPLATE_DIR / "README.md").read_text()
    section = readme.split("## Try it", 1)[1]
    (command,) = re.findall(r"```sh\n(.+?)\n```", section, re.DOTALL)[:1]
    assert command == "bash scripts/demo.sh"
    assert (TEMPLATE_DIR / "scripts" / "demo.sh").is_file()


def test_python_dependencies_are_pinned() -> None:
    """Every Python dependency is pinned to one version, so a test run today is the one of tomorrow."""
    project = tomllib.loads((TEMPLATE_DIR / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for group in project["optional-dependencies"].values() for r in group]
    unpinned = [r for r in requirements if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*", r)]
    assert unpinned == []


def test_npm_dependencies_are_pinned() -> None:
    """Backstage's npm packages are pinned to exact versions, and the lock file holds those very versions."""
    node = TEMPLATE_DIR / "tests" / "backstage"
    wanted = json.loads((node / "package.json").read_text())["dependencies"]
    lock = json.loads((node / "package-lock.json").read_text())
    assert [name for name, version in wanted.items() if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version)] == []
    assert lock["packages"][""]["dependencies"] == wanted
    assert {name: lock["packages"][f"node_modules/{name}"]["version"] for name in wanted} == wanted


def test_readme_layout_names_what_is_there() -> None:
    """Every path in the README's layout exists, and the Backstage Template is where the README says."""
    readme = (TEMPLATE_DIR / "README.md").read_text()
    (layout,) = re.findall(r"## Layout\n\n```text\n(.+?)\n```", readme, re.DOTALL)
    paths = [line.split()[0] for line in layout.splitlines()]
    assert [path for path in paths if not (TEMPLATE_DIR / path).exists()] == []
    assert "template.yaml" in paths


def test_template_repository_passes_its_pre_commit_hooks(tmp_path: Path) -> None:
    """The repository's own pre-commit hooks (ruff, shellcheck, JSON) pass on every file."""
    pre_commit = require_tool("pre-commit")
    copy = tmp_path / "repo"
    for name in repository_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE_DIR / name, target)
    run(["git", "init", "--quiet"], cwd=copy)
    run(["git", "add", "--all"], cwd=copy)
    result = subprocess.run(
        [pre_commit, "run", "--all-files", "--show-diff-on-failure"],
        cwd=copy,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_is_short_and_links_to_what_is_there() -> None:
    """The README stays short (at most 150 lines), keeps the question table's markers, and its links resolve."""
    readme = (TEMPLATE_DIR / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    assert readme.index("<!-- questions:begin -->") < readme.index("<!-- questions:end -->")
    assert "cookiecutter gh:org/go-scratch-service" in "\n".join(readme.splitlines()[:30])
    links = re.findall(r"\]\(((?!https?:|#)[^)#]+)", readme)
    assert [link for link in links if not (TEMPLATE_DIR / link).exists()] == []
