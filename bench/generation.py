"""Generation time: the cookiecutter command line, this template against a one-file template (the floor)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.common import TEMPLATE_DIR, bake, median, project_answers, timed

# The floor: a template of one file, written to the run's own folder. It is not kept in the
# repository: every folder of the repository with a cookiecutter.json must render in the sandbox.
ONE_FILE_CONFIG = '{"name": "onefile"}\n'
ONE_FILE_README = "# {{ cookiecutter.name }}\n"


def one_file_template(workdir: Path) -> Path:
    """Write the one-file template into workdir and return its folder."""
    template = workdir / "onefile-template"
    (template / "{{cookiecutter.name}}").mkdir(parents=True, exist_ok=True)
    (template / "cookiecutter.json").write_text(ONE_FILE_CONFIG, encoding="utf-8")
    (template / "{{cookiecutter.name}}" / "README.md").write_text(ONE_FILE_README, encoding="utf-8")
    return template


@dataclass(frozen=True)
class BakeCase:
    """One way to run cookiecutter."""

    key: str
    label: str
    template: Path | None  # None: the one-file template, written for the run
    answers: Mapping[str, str]
    hooks: bool = True


CASES = (
    BakeCase("floor", "bare cookiecutter, one-file template (floor)", None, {}),
    BakeCase("default", "this template, default answers", TEMPLATE_DIR, project_answers()),
    BakeCase(
        "default_no_hooks",
        "this template, default answers, `--accept-hooks no` (as Backstage runs it)",
        TEMPLATE_DIR,
        project_answers(),
        hooks=False,
    ),
    BakeCase(
        "vendored",
        "this template, vendor_dependencies=yes (no dependency to vendor)",
        TEMPLATE_DIR,
        project_answers(vendor_dependencies="yes"),
    ),
    BakeCase(
        "vendored_metrics",
        "this template, vendor_dependencies=yes prometheus_metrics=yes (`go mod vendor`, module cache warm)",
        TEMPLATE_DIR,
        project_answers(vendor_dependencies="yes", prometheus_metrics="yes"),
    ),
)


@dataclass(frozen=True)
class BakeTime:
    """The median time of one case over the rounds."""

    case: BakeCase
    seconds: float
    rounds: int
    files: int  # files in the generated project


def measure_generation(workdir: Path, rounds: int) -> dict[str, BakeTime]:
    """Bake every case once to warm caches, then `rounds` times interleaved; return the medians."""
    samples: dict[str, list[float]] = {case.key: [] for case in CASES}
    files: dict[str, int] = {}
    floor = one_file_template(workdir)
    for round_number in range(rounds + 1):
        for case in CASES:
            output = workdir / f"{case.key}-{round_number}"
            project, seconds = timed(
                lambda case=case, output=output: bake(case.template or floor, output, case.answers, hooks=case.hooks)
            )
            files[case.key] = sum(1 for path in project.rglob("*") if path.is_file())
            if round_number > 0:  # round 0 warms the module cache and the file system cache
                samples[case.key].append(seconds)
    return {case.key: BakeTime(case, median(samples[case.key]), rounds, files[case.key]) for case in CASES}
