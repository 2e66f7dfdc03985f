"""Generation time: the cookiecutter command line, this template against a one-file template (the floor)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH_DIR, TEMPLATE_DIR, bake, median, project_answers, timed

ONE_FILE_TEMPLATE = BENCH_DIR / "onefile"


@dataclass(frozen=True)
class BakeCase:
    """One way to run cookiecutter."""

    key: str
    label: str
    template: Path
    answers: Mapping[str, str]
    hooks: bool = True


CASES = (
    BakeCase("floor", "bare cookiecutter, one-file template (floor)", ONE_FILE_TEMPLATE, {}),
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
    for round_number in range(rounds + 1):
        for case in CASES:
            output = workdir / f"{case.key}-{round_number}"
            project, seconds = timed(
                lambda case=case, output=output: bake(case.template, output, case.answers, hooks=case.hooks)
            )
            files[case.key] = sum(1 for path in project.rglob("*") if path.is_file())
            if round_number > 0:  # round 0 warms the module cache and the file system cache
                samples[case.key].append(seconds)
    return {case.key: BakeTime(case, median(samples[case.key]), rounds, files[case.key]) for case in CASES}
