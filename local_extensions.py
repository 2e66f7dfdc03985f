"""Render every answer in Jinja's sandbox: an answer is data, never code.

Cookiecutter renders each answer as a Jinja template before any hook can look at it, so an
answer such as ``{{ cycler.__init__.__globals__.os.popen('id').read() }}`` would run commands on
the machine that renders (a portal's host). Listed in ``_extensions`` in cookiecutter.json, the
``SandboxedAnswers`` extension switches the environment that cookiecutter (and cruft, and every
portal that shells out to cookiecutter) builds for this template to Jinja's SandboxedEnvironment:
arithmetic and filters still work, attribute tricks stop with a SecurityError. It also refuses a
project_slug that is not one folder name before cookiecutter creates the project directory.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

from jinja2 import Environment
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment, safe_range

SLUG_QUESTION = "project_slug"
SLUG_ALLOWED = "1-63 lowercase letters, digits and dashes, starting with a letter and ending with a letter or digit"


class UnsafeAnswerError(SecurityError, UndefinedError):
    """An answer that tried more than data may; cookiecutter reports it naming the question or file."""


class SandboxedAnswersEnvironment(SandboxedEnvironment):
    """The sandbox, with errors worded for answers and a check on the project directory's name."""

    def handle_exception(self, source: str | None = None) -> Any:
        """Reword a sandbox refusal so that cookiecutter reports it in a few lines, without a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, SecurityError) and not isinstance(error, UnsafeAnswerError):
            raise UnsafeAnswerError(
                f"refused by Jinja's sandbox: {error} Answers are data: remove the Jinja code ({{{{ }}}}, {{% %}}) "
                "from the answer."
            ) from error
        return super().handle_exception(source)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Read cookiecutter.<attribute>, refusing a slug that would name more than one folder."""
        value = super().getattr(obj, attribute)
        if attribute == SLUG_QUESTION and isinstance(obj, dict):
            check_folder_name(value)
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        """Read cookiecutter['<key>'], refusing a slug that would name more than one folder."""
        value = super().getitem(obj, argument)
        if argument == SLUG_QUESTION and isinstance(obj, dict):
            check_folder_name(value)
        return value


def check_folder_name(value: object) -> None:
    """Refuse a slug that is not one folder name: cookiecutter would create its parents before any hook runs."""
    if isinstance(value, str) and ("/" in value or "\\" in value or value in {".", ".."}):
        shown = json.dumps(value, ensure_ascii=False)
        raise UnsafeAnswerError(f"{SLUG_QUESTION}={shown} is not allowed: {SLUG_ALLOWED}")


@functools.cache
def sandboxed_class(base: type[Environment]) -> type[Environment]:
    """The class of an environment like base (cookiecutter's StrictEnvironment), sandboxed."""
    return type(f"Sandboxed{base.__name__}", (SandboxedAnswersEnvironment, base), {})


def sandbox(environment: Environment) -> None:
    """Turn an environment that has compiled nothing yet into a sandboxed one, in place."""
    environment.__class__ = sandboxed_class(type(environment))
    # What SandboxedEnvironment.__init__ would have set.
    environment.globals["range"] = safe_range
    environment.binop_table = SandboxedEnvironment.default_binop_table.copy()  # type: ignore[attr-defined]
    environment.unop_table = SandboxedEnvironment.default_unop_table.copy()  # type: ignore[attr-defined]


class SandboxedAnswers(Extension):
    """Jinja extension that sandboxes the environment it is loaded into."""

    def __init__(self, environment: Environment) -> None:
        """Sandbox the environment while it is being built, before it compiles any answer."""
        super().__init__(environment)
        sandbox(environment)
