"""Linters: golangci-lint, pinned and with gosec among its linters, runs clean on every generated variant."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.project import TEMPLATE_DIR, Bake
from harness.tools import require_tool, run
from harness.versions import GO_TOOLS, GOLANGCI_LINT_VERSION

REQUIRED_LINTERS = {"gosec", "errorlint", "bodyclose"}

# Code that gosec must flag, with the rule it breaks: a server without timeouts (Slowloris).
UNSAFE_SERVER = """package main

import "net/http"

func serveWithoutTimeouts() error {
\treturn http.ListenAndServe(":8081", nil)
}
"""


def golangci_lint(project: Path) -> str:
    """Run the pinned golangci-lint on a project; fail the test with its report unless it is clean."""
    tool = require_tool("golangci-lint")
    return run([tool, "run", "--color=never", "./..."], cwd=project, timeout=900)


def test_versions_file_pins_every_go_tool() -> None:
    """versions.json pins golangci-lint v2, actionlint, kustomize, cosign and act to exact versions."""
    pins = GO_TOOLS
    assert sorted(pins) == ["act", "actionlint", "cosign", "golangci-lint", "kustomize"]
    assert pins["golangci-lint"].startswith("v2.")
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+", version) for version in pins.values())


def test_installed_golangci_lint_is_the_pinned_one() -> None:
    """The golangci-lint on PATH is the version that the script installs and the generated CI uses."""
    tool = require_tool("golangci-lint")
    reported = run([tool, "version", "--short"], cwd=TEMPLATE_DIR).strip()
    assert f"v{reported.removeprefix('v')}" == GOLANGCI_LINT_VERSION


def test_config_is_v2_with_gosec(bake: Bake) -> None:
    """The generated .golangci.yml passes golangci-lint's own schema check and enables gosec, errorlint, bodyclose."""
    project = bake()
    run([require_tool("golangci-lint"), "config", "verify"], cwd=project)
    config = yaml.safe_load((project / ".golangci.yml").read_text(encoding="utf-8"))
    assert config["version"] == "2"
    assert set(config["linters"]["enable"]) >= REQUIRED_LINTERS
    assert "gosec" not in config["linters"].get("disable", [])


@pytest.mark.slow
def test_golangci_lint_is_clean_on_every_combination(combination: tuple[dict[str, Any], Path]) -> None:
    """The pinned golangci-lint, with the generated configuration, finds no issue in any combination."""
    _, project = combination
    output = golangci_lint(project)
    assert "0 issues." in output


@pytest.mark.slow
def test_gosec_reports_a_server_without_timeouts(bake: Bake, tmp_path: Path) -> None:
    """The gosec linter is active: a server started without timeouts fails the lint (so the test above can fail)."""
    project = tmp_path / "project"
    shutil.copytree(bake(), project)
    (project / "unsafe.go").write_text(UNSAFE_SERVER, encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match=r"G114.*\(gosec\)"):
        golangci_lint(project)
