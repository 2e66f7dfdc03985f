"""Go toolchain: every generated combination is formatted, vetted, tested and builds a static binary."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import elf
from harness.answers import SLUG
from harness.postgres import PostgresServer
from harness.project import Bake, uses_postgres
from harness.template import TEMPLATE_DIR
from harness.tools import require_tool, run

# Go's marker of generated code (go help generate): such files are the generator's, not ours to wrap.
GENERATED = re.compile(r"^// Code generated .* DO NOT EDIT\.$", re.MULTILINE)


def go_files(project: Path) -> list[str]:
    """The project's own Go files (vendored code is not ours to format)."""
    return sorted(str(p) for p in project.rglob("*.go") if "vendor" not in p.relative_to(project).parts)


def offline_env(answers: dict[str, Any]) -> dict[str, str]:
    """Vendored projects must build from vendor/ alone: no module proxy at all."""
    return {"GOFLAGS": "-mod=vendor -trimpath", "GOPROXY": "off"} if answers["vendor_dependencies"] else {}


def test_gofmt_reports_nothing(combination: tuple[dict[str, Any], Path]) -> None:
    """`gofmt -l` lists no file: the generated code is formatted."""
    _, project = combination
    assert run(["gofmt", "-l", *go_files(project)], cwd=project) == ""


def test_go_vet_passes(combination: tuple[dict[str, Any], Path]) -> None:
    """`go vet ./...` finds nothing."""
    answers, project = combination
    run(["go", "vet", "./..."], cwd=project, env=offline_env(answers))


def test_go_test_race_passes(combination: tuple[dict[str, Any], Path], request: pytest.FixtureRequest) -> None:
    """The generated tests pass under the race detector; a postgres project's against a real server, none skipped."""
    answers, project = combination
    env = offline_env(answers)
    if uses_postgres(answers):
        server: PostgresServer = request.getfixturevalue("postgres_server")
        env["TEST_DATABASE_URL"] = server.create_database()
    output = run(["go", "test", "-race", "-count=1", "-v", "./..."], cwd=project, env=env)
    if uses_postgres(answers):
        assert "--- SKIP" not in output
        assert "--- PASS: TestMigrateAppliesEachMigrationOnceAndIsIdempotent" in output


def test_static_build_has_no_dynamic_loader(combination: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    """A CGO_ENABLED=0 build is a static ELF (no PT_INTERP), as scratch needs, and carries the stamped version."""
    answers, project = combination
    binary = tmp_path / "service"
    env = {"CGO_ENABLED": "0", **offline_env(answers)}
    run(
        ["go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=1.2.3", "-o", str(binary), "."],
        cwd=project,
        env=env,
    )
    assert elf.is_static(binary.read_bytes())
    assert subprocess.run([binary, "-version"], capture_output=True, text=True, check=True).stdout == "1.2.3\n"
    build_info = run(["go", "version", "-m", str(binary)], cwd=project)
    assert "build\tCGO_ENABLED=0" in build_info
    assert "build\t-trimpath=true" in build_info


def test_go_mod_is_tidy(combination: tuple[dict[str, Any], Path]) -> None:
    """go.mod and the shipped go.sum are exactly what `go mod tidy` wants: builds are verified, nothing is missing."""
    _, project = combination
    run(["go", "mod", "tidy", "-diff"], cwd=project)


def test_go_modules_are_what_the_script_writes() -> None:
    """The template's go.mod requirements and go.sum are exactly what scripts/go-modules.py writes from the rules."""
    run([sys.executable, "scripts/go-modules.py", "--check"], cwd=TEMPLATE_DIR)


def test_go_lines_fit_in_120_columns(combination: tuple[dict[str, Any], Path]) -> None:
    """No line of the generated Go is longer than 120 characters: options do not pile up on one line."""
    _, project = combination
    written = [path for path in map(Path, go_files(project)) if not GENERATED.search(path.read_text(encoding="utf-8"))]
    long_lines = [
        f"{path.name}:{number}: {len(line)} characters"
        for path in written
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if len(line) > 120
    ]
    assert not long_lines


@pytest.mark.parametrize(
    ("description", "sentence"),
    [
        ("serves invoices to the billing team", "Serves invoices to the billing team."),
        ("Tracks parcels!", "Tracks parcels!"),
        ("  Answers questions about the weather?  ", "Answers questions about the weather?"),
        (
            "keeps " + "a very long list of things " * 6 + "in order",
            "Keeps " + "a very long list of things " * 6 + "in order.",
        ),
    ],
)
def test_command_doc_reads_as_sentences_for_any_description(bake: Bake, description: str, sentence: str) -> None:
    """`go doc -cmd` shows the description as a capitalised sentence after the command's, wrapped within 80 columns."""
    project = bake(description=description)
    doc = run(["go", "doc", "-cmd", "."], cwd=project)
    summary = " ".join(doc.split("\n\n")[1].split())
    assert summary == f"Command {SLUG} is an HTTP service. {sentence}"
    comment = (project / "main.go").read_text(encoding="utf-8").split("package main", 1)[0]
    assert all(len(line) <= 80 for line in comment.splitlines()), comment


def test_dockerfile_passes_hadolint(combination: tuple[dict[str, Any], Path]) -> None:
    """Hadolint finds nothing in any variant's Dockerfile."""
    _, project = combination
    run([require_tool("hadolint"), "Dockerfile"], cwd=project)


@pytest.mark.parametrize("target", ["help", "build", "test", "lint", "vendor"])
def test_make_targets_work(bake: Bake, target: str) -> None:
    """The everyday Makefile targets run as documented on a project with a dependency; `build` is static and trimmed."""
    project = bake(prometheus_metrics=True)
    output = run(["make", target], cwd=project)
    if target == "build":
        build_info = run(["go", "version", "-m", str(project / "bin" / SLUG)], cwd=project)
        assert "\tbuild\t-trimpath=true\n" in build_info, build_info
        assert "\tbuild\tCGO_ENABLED=0\n" in build_info, build_info
    if target == "vendor":
        assert (project / "vendor" / "modules.txt").is_file()
    if target == "help":
        for listed in ("build", "run", "test", "lint", "tidy", "vendor", "docker-build", "docker-run", "clean"):
            assert f"  {listed} " in output, listed
