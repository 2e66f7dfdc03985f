"""Template updates: generated projects follow the template with cruft, hooks and all.

The template is copied into a temporary git repository (as a team's fork of it would be), a
project is created from it with ``cruft create`` and committed, and the template then changes.
``cruft check`` notices, ``cruft update`` brings the change in next to the project's own edits,
with no conflict, and the project still builds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.project import GO_VERSION
from harness.repositories import NEW_LINE, change_template, cruft, git, template_repository
from harness.tools import run

pytestmark = pytest.mark.slow

SLUG = "updated-service"
USER_NOTE = "\n## Team notes\n\nOn call: the platform team.\n"


def create_project(tmp_path: Path, template: Path, answers: Mapping[str, Any]) -> Path:
    """Create a project with cruft create and commit it, as a team starting a service would."""
    output = tmp_path / "projects"
    output.mkdir()
    context = json.dumps({"go_version": GO_VERSION, "project_slug": SLUG, **answers})
    created = cruft(
        "create", str(template), "--no-input", "--extra-context", context, "--output-dir", str(output), cwd=output
    )
    assert created.returncode == 0, created.stdout + created.stderr
    project = output / SLUG
    git(project, "init", "--quiet")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "Generated from the template")
    return project


def rejected_hunks(project: Path) -> list[str]:
    """Files that a conflicting update would leave behind."""
    return sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.suffix in {".rej", ".orig"})


UPDATE_CASES = {
    "defaults": {},
    "vendoring-metrics-gitlab": {"vendor_dependencies": True, "prometheus_metrics": True, "ci": "gitlab"},
    "opentelemetry": {"opentelemetry": True},
    "postgres-vendoring": {"database": "postgres", "vendor_dependencies": True},
}


@pytest.mark.parametrize("answers", UPDATE_CASES.values(), ids=UPDATE_CASES.keys())
def test_cruft_update_brings_template_changes(tmp_path: Path, answers: dict[str, Any]) -> None:
    """Cruft sees a new template release and applies it beside local edits, with no conflict; the project builds."""
    template = template_repository(tmp_path)
    project = create_project(tmp_path, template, answers)
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["context"]["cookiecutter"]["project_slug"] == SLUG

    checked = cruft("check", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    readme = project / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + USER_NOTE, encoding="utf-8")
    git(project, "commit", "--quiet", "--all", "-m", "Team notes")
    change_template(template)

    checked = cruft("check", cwd=project)
    assert checked.returncode != 0
    assert "out of date" in checked.stdout + checked.stderr

    updated = cruft("update", "--skip-apply-ask", cwd=project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert NEW_LINE in (project / "handlers.go").read_text(encoding="utf-8")
    assert readme.read_text(encoding="utf-8").endswith(USER_NOTE)
    assert rejected_hunks(project) == []
    assert (
        json.loads((project / ".cruft.json").read_text(encoding="utf-8"))["commit"]
        == git(template, "rev-parse", "HEAD").strip()
    )
    run(["go", "build", "-o", str(tmp_path / "bin" / SLUG), "."], cwd=project)  # the command and all it imports
    changed = git(project, "status", "--porcelain").splitlines()
    assert sorted(line[3:] for line in changed) == [".cruft.json", "handlers.go"]  # nothing else touched


def test_cruft_update_can_change_an_answer(tmp_path: Path) -> None:
    """Turning kubernetes off through cruft update removes the manifests, as a fresh project would lack them."""
    template = template_repository(tmp_path)
    project = create_project(tmp_path, template, {})
    assert (project / "deploy" / "kubernetes" / "deployment.yaml").is_file()

    updated = cruft("update", "--skip-apply-ask", "--variables-to-update", '{"kubernetes": false}', cwd=project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert not (project / "deploy" / "kubernetes" / "deployment.yaml").exists()
    assert "backstage.io/kubernetes-id" not in (project / "catalog-info.yaml").read_text(encoding="utf-8")
    assert rejected_hunks(project) == []
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["context"]["cookiecutter"]["__kubernetes"] == "False"
