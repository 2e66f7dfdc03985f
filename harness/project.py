"""The template under test: where it is, the answer combinations the tests cover, and baking.

Every test bakes the real template with pytest-cookies (a real cookiecutter run, hooks included)
and renders it for the Go toolchain installed here, so the generated projects build without
downloading another toolchain.
"""

from __future__ import annotations

import itertools
import runpy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.answers import VALID_BASE
from harness.golang_image import local_go_version
from harness.template import RULES_LOADER, TEMPLATE_DIR

__all__ = ["TEMPLATE_DIR"]

GO_VERSION = local_go_version()
RULES = runpy.run_path(str(RULES_LOADER))["load_rules"]()  # the template's rules, through their one loader
OPTIONS: dict[str, Any] = RULES.OPTIONS  # the questions that change the Go project, by key
SHORT_NAMES: dict[str, str] = {key: question.option.short for key, question in OPTIONS.items()}

Combination = dict[str, Any]
Pair = tuple[tuple[str, Any], tuple[str, Any]]


def valid(combination: Mapping[str, Any]) -> bool:
    """Whether the rules' own checks accept the combination over answers they accept."""
    try:
        RULES.check_answers({**VALID_BASE, **combination})
    except RULES.InvalidAnswer:
        return False
    return True


def pairs(combination: Mapping[str, Any]) -> set[Pair]:
    """Every pair of (option, value) in a combination."""
    return set(itertools.combinations(combination.items(), 2))


def valid_combinations(options: Mapping[str, Any]) -> list[Combination]:
    """Every valid combination of the options' values, the all-defaults one first."""
    every = (
        dict(zip(options, values, strict=True)) for values in itertools.product(*(q.values for q in options.values()))
    )
    return [combination for combination in every if valid(combination)]


def pairwise(options: Mapping[str, Any]) -> list[Combination]:
    """A few valid combinations in which every pair of values that some valid combination has meets.

    Greedy and deterministic: the defaults, then each time the first valid combination that covers the most
    pairs not covered yet.
    """
    candidates = valid_combinations(options)
    uncovered = set().union(*map(pairs, candidates))
    chosen: list[Combination] = []
    while uncovered:
        best = candidates[0] if not chosen else max(candidates, key=lambda c: len(pairs(c) & uncovered))
        chosen.append(best)
        uncovered -= pairs(best)
    return chosen


# The combinations the unit tier bakes (vets, tests, lints, ...): every option next to every other, each with
# each of its values, where the rules allow them together (postgres keeps https_client on).
COMBINATIONS: list[Combination] = pairwise(OPTIONS)


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
