"""The template repository's own CI (.github/ at its root): the test tiers, pinned, actionlint- and zizmor-clean."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from harness.answers import COOKIECUTTER_JSON
from harness.pins import workflow_pins
from harness.project import TEMPLATE_DIR, bake_with
from harness.tools import require_tool, run

WORKFLOW = TEMPLATE_DIR / ".github" / "workflows" / "ci.yml"
DEFAULT_GO_VERSION: str = COOKIECUTTER_JSON["go_version"]
TIERS = ["unit", "images", "portals", "cluster"]


def workflow() -> dict[str, Any]:
    """The template's workflow."""
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def job_runs(job: dict[str, Any]) -> list[str]:
    """The run: scripts of a job."""
    return [step["run"] for step in job["steps"] if "run" in step]


def test_template_workflow_passes_actionlint() -> None:
    """Actionlint, with shellcheck on the run: scripts, finds nothing."""
    actionlint = require_tool("actionlint")
    require_tool("shellcheck")
    run([actionlint, "-color=false", str(WORKFLOW.relative_to(TEMPLATE_DIR))], cwd=TEMPLATE_DIR)


def test_template_ci_passes_zizmor() -> None:
    """An offline zizmor at its default persona finds nothing in the workflow and dependabot.yml."""
    zizmor = require_tool("zizmor")
    output = run([zizmor, "--offline", "--no-progress", ".github"], cwd=TEMPLATE_DIR)
    assert "No findings to report" in output, output


def test_every_tier_runs_once_and_unit_on_every_push_and_pull_request() -> None:
    """Each tier of scripts/test.sh has one job; unit runs for pushes and pull requests, the others after it."""
    config = workflow()
    triggers = config[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"push", "pull_request", "workflow_dispatch"}
    tiers = {}
    for name, job in config["jobs"].items():
        for script in job_runs(job):
            if match := re.search(r"\bbash scripts/test\.sh (\w+)$", script):
                tiers[match.group(1)] = name
    assert sorted(tiers) == sorted(TIERS)
    assert "needs" not in config["jobs"][tiers["unit"]]
    for tier in TIERS[1:]:
        assert config["jobs"][tiers[tier]]["needs"] == [tiers["unit"]], tier


def test_template_workflow_reads_only_and_keeps_no_credentials() -> None:
    """The token only reads, and no checkout keeps it."""
    config = workflow()
    assert config["permissions"] == {"contents": "read"}
    for name, job in config["jobs"].items():
        assert "permissions" not in job, name
        checkouts = [step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@")]
        assert [step["with"]["persist-credentials"] for step in checkouts] == [False], name


def test_template_actions_are_the_generated_projects_releases(cookies: Any) -> None:
    """Every action is SHA-pinned with its release in a comment, at the same commit as in the generated workflow."""
    ours = workflow_pins(TEMPLATE_DIR)
    text = WORKFLOW.read_text(encoding="utf-8")
    assert len(ours) == len(set(re.findall(r"uses: (\S+)", text)))  # every `uses:` line is pinned as the regex wants
    generated = {pin.name: pin for pin in workflow_pins(bake_with(cookies, {"ci": "github"}))}
    for pin in ours:
        assert pin.name in generated, pin.name
        assert (pin.digest, pin.version) == (generated[pin.name].digest, generated[pin.name].version), pin.name


def test_template_ci_go_is_the_default_go_version() -> None:
    """The Go of the template's jobs (.github/go-version) is the default go_version of cookiecutter.json."""
    assert (TEMPLATE_DIR / ".github" / "go-version").read_text(encoding="utf-8") == f"{DEFAULT_GO_VERSION}\n"
    for name, job in workflow()["jobs"].items():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/setup-go@"):
                assert step["with"] == {"go-version-file": ".github/go-version", "cache": False}, name


def test_official_image_check_reads_the_builder_release(cookies: Any, tmp_path: Path) -> None:
    """The official-image job's shell line finds the pinned golang release in a default project's Dockerfile."""
    (script,) = [s for s in job_runs(workflow()["jobs"]["official-image"]) if "pinned=" in s]
    (line,) = [line for line in script.splitlines() if line.startswith("pinned=")]
    project = bake_with(cookies, {"go_version": DEFAULT_GO_VERSION})
    command = line.removeprefix('pinned="$(').removesuffix(')"').replace("build/official/go-scratch-service/", "")
    found = subprocess.run(["sh", "-c", command], cwd=project, capture_output=True, text=True, check=True).stdout
    assert found.strip() == DEFAULT_GO_VERSION


def test_template_dependabot_has_a_cooldown_everywhere() -> None:
    """The template's dependabot.yml is valid, and every entry waits before proposing a release."""
    path = TEMPLATE_DIR / ".github" / "dependabot.yml"
    tool = require_tool("check-jsonschema")
    run([tool, "--builtin-schema", "vendor.dependabot", str(path)], cwd=TEMPLATE_DIR)
    updates = yaml.safe_load(path.read_text(encoding="utf-8"))["updates"]
    assert sorted(update["package-ecosystem"] for update in updates) == ["github-actions", "npm", "pip"]
    for update in updates:
        assert update["cooldown"]["default-days"] >= 3, update["package-ecosystem"]
