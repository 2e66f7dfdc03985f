"""Validation: every bad answer is refused with one clear line, leaving nothing behind; good ones pass."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness.answers import COMBINATION, EDGE, ONE_LINE_ERROR, SLUG, VALID_BASE, cases
from harness.project import COMBINATIONS, GO_VERSION, TEMPLATE_DIR
from harness.template import template_copy_with

INVALID_CASES = [pytest.param(case.question, case.value, id=case.id) for case in cases(ONE_LINE_ERROR)]
INVALID_COMBINATIONS = [pytest.param(case.question, case.answers, id=case.id) for case in cases(COMBINATION)]
VALID_CASES = [pytest.param(case.answers, id=case.id) for case in cases(EDGE)]


def output_entries(output_dir: Path) -> list[str]:
    """What generation left in its output directory."""
    return sorted(p.name for p in output_dir.iterdir()) if output_dir.exists() else []


def files_left_behind(tmp_path: Path) -> list[str]:
    """Every file that pytest-cookies' bakes left in this test's output folders (tmp_path/cookies/bakeNN)."""
    return sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "cookies").rglob("*") if not p.is_dir())


def error_lines(text: str) -> list[str]:
    """The lines a hook printed as errors."""
    return [line for line in text.splitlines() if line.startswith("error: ")]


def option_pairs(combination: dict[str, Any]) -> set[tuple[tuple[str, Any], tuple[str, Any]]]:
    """Every pair of (option, value) in a combination."""
    return set(itertools.combinations(combination.items(), 2))


def test_combinations_meet_every_pair_the_rules_allow(pre_gen: ModuleType) -> None:
    """The baked combinations (defaults first) pass the hook; every pair of option values it allows meets in one."""
    options = pre_gen.rules.OPTIONS

    def accepted(combination: dict[str, Any]) -> bool:
        try:
            pre_gen.check_answers({**VALID_BASE, **combination})
        except pre_gen.InvalidAnswer:
            return False
        return True

    every = [
        dict(zip(options, values, strict=True)) for values in itertools.product(*(q.values for q in options.values()))
    ]
    allowed = set().union(*(option_pairs(c) for c in every if accepted(c)))
    covered = set().union(*map(option_pairs, COMBINATIONS))
    assert all(list(c) == list(options) and accepted(c) for c in COMBINATIONS)
    assert COMBINATIONS[0] == {key: question.values[0] for key, question in options.items()} == every[0]
    assert allowed - covered == set()
    assert (("https_client", False), ("database", "postgres")) in option_pairs(every[-1]) - allowed  # control
    assert len(COMBINATIONS) < len(every) // 2


@pytest.mark.parametrize(("question", "value"), INVALID_CASES)
def test_invalid_answer_is_refused_with_one_line(
    cookies: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str], question: str, value: Any
) -> None:
    """A bad answer stops generation with one line naming question, value and what is allowed; no directory stays."""
    # An explicit slug, so that a bad project_name reaches the hook instead of making an empty slug.
    answers = {"go_version": GO_VERSION, "project_slug": "svc", question: value}
    result = cookies.bake(template=str(TEMPLATE_DIR), extra_context=answers)
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "FailedHookException"
    (line,) = error_lines(capfd.readouterr().err)
    assert line.startswith(f"error: {question}={json.dumps(value, ensure_ascii=False)} is not allowed: ")
    assert len(line) > len(f"error: {question}={value} is not allowed: ") + 10  # says what is allowed
    assert files_left_behind(tmp_path) == []


@pytest.mark.parametrize(("question", "answers"), INVALID_COMBINATIONS)
def test_invalid_combination_is_refused(
    cookies: Any, capfd: pytest.CaptureFixture[str], question: str, answers: dict[str, Any]
) -> None:
    """Answers that are fine alone but not together are refused, naming the question to change."""
    result = cookies.bake(template=str(TEMPLATE_DIR), extra_context=answers)
    assert result.exit_code != 0
    (line,) = error_lines(capfd.readouterr().err)
    assert line.startswith(f"error: {question}=")


@pytest.mark.parametrize("answers", VALID_CASES)
def test_unusual_valid_answer_is_accepted(cookies: Any, answers: dict[str, str]) -> None:
    """Edge values inside the allowed ranges generate a project."""
    result = cookies.bake(template=str(TEMPLATE_DIR), extra_context={"go_version": GO_VERSION, **answers})
    assert result.exit_code == 0, result.exception
    assert result.project_path.is_dir()


def cookiecutter_cli(*args: str, output_dir: Path, template: Path = TEMPLATE_DIR) -> subprocess.CompletedProcess[str]:
    """Run the real cookiecutter command line, as a portal does."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output_dir), str(template), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_cli_refuses_bad_answer_without_traceback(tmp_path: Path) -> None:
    """From the command line, a bad answer prints the hook's one line, no Python traceback, and leaves nothing."""
    result = cookiecutter_cli("project_slug=Bad Slug", f"go_version={GO_VERSION}", output_dir=tmp_path)
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        'error: project_slug="Bad Slug" is not allowed: '
        "1-63 lowercase letters, digits and dashes, starting with a letter and ending with a letter or digit"
    ]
    # Cookiecutter 2.7 logs its own FailedHookException traceback after the hook's line; the hook adds none.
    assert "InvalidAnswer" not in result.stdout + result.stderr
    assert output_entries(tmp_path) == []


@pytest.mark.parametrize(
    "answers", [{"project_name": "!!!"}, {"project_slug": ""}], ids=["name-without-letters", "empty"]
)
def test_empty_slug_is_refused_before_generation(tmp_path: Path, answers: dict[str, str]) -> None:
    """A slug that renders empty is refused by cookiecutter itself, before any file is written."""
    result = cookiecutter_cli(*(f"{key}={value}" for key, value in answers.items()), output_dir=tmp_path)
    assert result.returncode != 0
    assert output_entries(tmp_path) == []


PORTAL_BOOLEANS = {
    "true": True,
    "TRUE": True,
    "yes": True,
    "Y": True,
    "1": True,
    "false": False,
    "False": False,
    "no": False,
    "N": False,
    "0": False,
}


@pytest.mark.parametrize(("spelling", "meaning"), PORTAL_BOOLEANS.items(), ids=PORTAL_BOOLEANS.keys())
def test_cli_string_booleans_mean_what_they_say(tmp_path: Path, spelling: str, meaning: bool) -> None:
    """A portal's key=value strings switch the options like JSON booleans do."""
    result = cookiecutter_cli(
        f"https_client={spelling}",
        f"prometheus_metrics={spelling}",
        f"go_version={GO_VERSION}",
        "project_slug=portal-service",
        output_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    project = tmp_path / "portal-service"
    assert ("ca-certificates.crt" in (project / "Dockerfile").read_text()) == meaning
    assert (project / "metrics.go").exists() == meaning


def test_cli_refuses_a_boolean_it_cannot_read(tmp_path: Path) -> None:
    """An unreadable boolean on the command line is refused before anything is written (by cookiecutter itself)."""
    result = cookiecutter_cli("https_client=maybe", f"go_version={GO_VERSION}", output_dir=tmp_path)
    assert result.returncode != 0
    assert "maybe provided for variable https_client could not be converted to a boolean" in result.stderr
    assert output_entries(tmp_path) == []


@pytest.mark.parametrize(("spelling", "meaning"), [("false", False), ("No", False), ("yes", True), ("1", True)])
def test_string_booleans_written_into_cookiecutter_json_mean_what_they_say(
    tmp_path: Path, spelling: str, meaning: bool
) -> None:
    """A portal that writes "false" into cookiecutter.json itself gets the option off, not a truthy string."""
    template = template_copy_with(
        tmp_path, {"https_client": spelling, "prometheus_metrics": spelling, "go_version": GO_VERSION}
    )
    out = tmp_path / "out"
    result = cookiecutter_cli(output_dir=out, template=template)
    assert result.returncode == 0, result.stderr
    project = out / SLUG
    assert ("ca-certificates.crt" in (project / "Dockerfile").read_text()) == meaning
    assert (project / "metrics.go").exists() == meaning


def test_unreadable_string_boolean_in_cookiecutter_json_is_refused(tmp_path: Path) -> None:
    """A string that is no boolean, written into cookiecutter.json, is refused by the hook in one line."""
    template = template_copy_with(tmp_path, {"vendor_dependencies": "maybe", "go_version": GO_VERSION})
    out = tmp_path / "out"
    result = cookiecutter_cli(output_dir=out, template=template)
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        'error: vendor_dependencies="maybe" is not allowed: true/false, yes/no, y/n or 1/0 (any case)'
    ]
    assert "InvalidAnswer" not in result.stderr
    assert output_entries(out) == []
