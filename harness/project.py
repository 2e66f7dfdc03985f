"""The template under test: where it is, the answer combinations the tests cover, and baking.

Every test bakes the real template with pytest-cookies (a real cookiecutter run, hooks included)
and renders it for the Go toolchain installed here, so the generated projects build without
downloading another toolchain.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.golang_image import local_go_version
from harness.template import TEMPLATE_DIR

__all__ = ["TEMPLATE_DIR"]

GO_VERSION = local_go_version()
BOOLEAN_OPTIONS = ("https_client", "vendor_dependencies", "prometheus_metrics", "opentelemetry")
SHORT_NAMES = {
    "https_client": "https",
    "vendor_dependencies": "vendor",
    "prometheus_metrics": "metrics",
    "opentelemetry": "otel",
    "database": "db",
}

# The boolean options as answer overrides: 8 of the 16 combinations, every combination of the first
# three, with opentelemetry on exactly when an even number of them is. Any three of the four options
# then meet in all eight combinations of their values (every option next to every pair of others,
# e.g. vendoring with metrics and tracing together), at half the cost of all sixteen; the defaults
# (https on, the rest off) are one of the eight.
#
# With database=postgres (which keeps https_client on), 4 more: vendoring, metrics and tracing in
# the four combinations with an odd number of them on (every option next to every other, on and
# off; all three together among them, as go.mod's first branch has them).
COMBINATIONS: list[dict[str, Any]] = [
    dict(zip(BOOLEAN_OPTIONS, (*values, sum(values) % 2 == 0), strict=True))
    for values in itertools.product([True, False], repeat=3)
] + [
    {**dict(zip(BOOLEAN_OPTIONS, (True, *values), strict=True)), "database": "postgres"}
    for values in itertools.product([True, False], repeat=3)
    if sum(values) % 2 == 1
]


def uses_postgres(answers: Mapping[str, Any]) -> bool:
    """Whether a combination's project has the database option."""
    return answers.get("database") == "postgres"


Bake = Callable[..., Path]


def answers_id(answers: Mapping[str, Any]) -> str:
    """Name a set of answers readably, e.g. ``https:yes-vendor:no-metrics:yes``."""

    def show(value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    return "-".join(f"{SHORT_NAMES.get(key, key)}:{show(value)}" for key, value in answers.items()) or "defaults"


def bake_with(cookies: Any, answers: Mapping[str, Any]) -> Path:
    """Bake the template with the answers over the test defaults; fail the test unless it worked."""
    result = cookies.bake(template=str(TEMPLATE_DIR), extra_context={"go_version": GO_VERSION, **answers})
    if result.exception is not None or result.exit_code != 0:
        pytest.fail(f"baking with {dict(answers)} failed: {result.exception!r}")
    return Path(result.project_path)
