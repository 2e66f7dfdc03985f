"""Shared vocabulary of the benchmark: where things are, timing, and small statistics."""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from harness.answers import SLUG as SLUG
from harness.golang_image import local_go_version
from harness.template import TEMPLATE_DIR as TEMPLATE_DIR
from harness.waiting import timed as timed

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
GO_VERSION = local_go_version()
COOKIECUTTER = Path(sys.executable).with_name("cookiecutter")

T = TypeVar("T")


class BenchError(RuntimeError):
    """A benchmark step that could not run."""


def median(values: Sequence[float]) -> float:
    """Return the median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


def run_command(command: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """Run a command; raise BenchError with its output when it fails."""
    result = subprocess.run(list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise BenchError(f"`{' '.join(command)}` exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def bake(template: Path, output_dir: Path, answers: Mapping[str, str] | None = None, *, hooks: bool = True) -> Path:
    """Run the cookiecutter command line without prompts, as a user would; return the new project."""
    output_dir.mkdir(parents=True, exist_ok=True)
    before = set(output_dir.iterdir())
    options = ["--no-input", "--output-dir", str(output_dir), *([] if hooks else ["--accept-hooks", "no"])]
    arguments = [f"{key}={value}" for key, value in (answers or {}).items()]
    run_command([str(COOKIECUTTER), *options, str(template), *arguments])
    created = set(output_dir.iterdir()) - before
    if len(created) != 1:
        raise BenchError(f"cookiecutter created {len(created)} entries in {output_dir}, expected one project")
    return created.pop()


def project_answers(**answers: str) -> dict[str, str]:
    """Answers for this template: its defaults, rendered for the local Go toolchain."""
    return {"go_version": GO_VERSION, **answers}


def ratio(value: float, floor: float) -> float:
    """Return value / floor (NaN when the floor is zero)."""
    return value / floor if floor else float("nan")
