"""Render every answer in Jinja's immutable sandbox: an answer is data, never code.

Cookiecutter renders each answer as a Jinja template before any hook can look at it, so an
answer such as ``{{ cycler.__init__.__globals__.os.popen('id').read() }}`` would run commands on
the machine that renders (a portal's host), and one such as ``{{ cookiecutter.update({...}) }}``
would plant settings (``_jinja2_env_vars``) that turn the hooks into a Jinja comment. Listed in
``_extensions`` in cookiecutter.json, the ``SandboxedAnswers`` extension turns every environment
that cookiecutter (and cruft, and every portal that shells out to cookiecutter) builds for this
template into Jinja's ImmutableSandboxedEnvironment, stricter still: no method of a list, dict or
set that could change it can be called. It refuses to load with a Jinja2 older than 3.1.6
(CVE-2025-27516) or with any Jinja setting changed from its default (planted
``_jinja2_env_vars``), so the hooks always render as written. It also refuses a project_slug that
is not one folder name, and any private setting the template does not set (from a replay file, say),
before cookiecutter creates the project directory, hooks or no hooks; and it gives the hook the
path of the rules' loader (hooks/rules_loader.py).

No rule lives here, and none is kept from one render to the next: cookiecutter imports this module
once per process, and cruft renders two releases in one process (the old, then the new, in the same
checkout). So each environment reads the rules afresh (hooks/rules.py, through its one loader) and
keeps them as its own.
"""

from __future__ import annotations

import functools
import json
import runpy
import sys
from collections.abc import MutableMapping, MutableSequence, MutableSet
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
from jinja2 import Environment, defaults
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment, safe_range

RULES_LOADER = Path(__file__).resolve().parent / "hooks" / "rules_loader.py"
SLUG_QUESTION = "project_slug"
MIN_JINJA = (3, 1, 6)  # 3.1.5 lets |attr('format') reach os.environ (CVE-2025-27516)
# The methods a template may call on a list, dict or set: the ones that only read it.
READ_ONLY_METHODS = frozenset({"get", "keys", "values", "items", "copy", "count", "index", "isdisjoint", "issubset"})
# Jinja's settings, each with its default: an answer or a replay file may change none of them.
DEFAULT_SETTINGS = {
    "block_start_string": defaults.BLOCK_START_STRING,
    "block_end_string": defaults.BLOCK_END_STRING,
    "variable_start_string": defaults.VARIABLE_START_STRING,
    "variable_end_string": defaults.VARIABLE_END_STRING,
    "comment_start_string": defaults.COMMENT_START_STRING,
    "comment_end_string": defaults.COMMENT_END_STRING,
    "line_statement_prefix": defaults.LINE_STATEMENT_PREFIX,
    "line_comment_prefix": defaults.LINE_COMMENT_PREFIX,
    "trim_blocks": defaults.TRIM_BLOCKS,
    "lstrip_blocks": defaults.LSTRIP_BLOCKS,
    "newline_sequence": defaults.NEWLINE_SEQUENCE,
    "autoescape": False,
    "optimized": True,
    "finalize": None,
    "is_async": False,
}


class TemplateRefused(ImportError):
    """The environment cannot render this template safely; cookiecutter reports it as a failed extension."""


class UnsafeAnswerError(SecurityError, UndefinedError):
    """An answer that tried more than data may; cookiecutter reports it naming the question or file."""


def load_rules() -> ModuleType:
    """The template's rules as its checkout has them now, through their one loader (run, not imported)."""
    return runpy.run_path(str(RULES_LOADER))["load_rules"]()


def jinja_version(text: str) -> tuple[int, ...]:
    """The numeric release of a version string such as 3.1.6 or 3.2.0rc1."""
    parts = []
    for part in text.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit()) if part[:1].isdigit() else ""
        parts.append(int(digits or 0))
    return tuple(parts)


def check_jinja(version: str) -> None:
    """Refuse a Jinja2 whose sandbox lets an answer reach the host's environment."""
    if jinja_version(version) < MIN_JINJA:
        wanted = ".".join(map(str, MIN_JINJA))
        raise TemplateRefused(
            f"Jinja2 {version} cannot render this template safely (CVE-2025-27516): "
            f"install Jinja2 {wanted} or newer (pip install 'jinja2>={wanted}')"
        )


def check_settings(environment: Environment) -> None:
    """Refuse an environment whose settings differ from Jinja's defaults (a planted _jinja2_env_vars)."""
    for name, default in DEFAULT_SETTINGS.items():
        value = getattr(environment, name, default)
        if value != default:
            raise TemplateRefused(
                f"_jinja2_env_vars sets {name}={json.dumps(value, default=repr)}: this template renders only "
                "with Jinja's default settings; remove _jinja2_env_vars from the answers, config or replay file"
            )


def check_settings_in(answers: dict[str, Any], rules: ModuleType) -> None:
    """Once the context is complete (it holds _extensions), refuse the private settings the template does not set."""
    if "_extensions" in answers:
        try:
            rules.check_private_keys(answers)
        except rules.InvalidAnswer as err:
            raise UnsafeAnswerError(str(err)) from err


def check_location_in(value: object, rules: ModuleType) -> None:
    """Refuse rendering a location other than the template's own (the pre-generation hook refuses it first)."""
    try:
        rules.check_template_location(value)
    except rules.InvalidAnswer as err:
        raise UnsafeAnswerError(str(err)) from err


def check_folder_name(value: object, answers: object, slug_allowed: str) -> None:
    """Refuse a slug that is no folder name: cookiecutter would create its parents before any hook runs."""
    if not isinstance(value, str):
        return
    if value == "":
        name = answers.get("project_name") if isinstance(answers, dict) else None
        shown = json.dumps(name, ensure_ascii=False)
        raise UnsafeAnswerError(
            f'{SLUG_QUESTION}="" is not allowed: project_name={shown} slugifies to nothing; give a name that '
            f"starts with a letter a-z, or set {SLUG_QUESTION} yourself ({slug_allowed})"
        )
    if "/" in value or "\\" in value or value in {".", ".."}:
        shown = json.dumps(value, ensure_ascii=False)
        raise UnsafeAnswerError(f"{SLUG_QUESTION}={shown} is not allowed: {slug_allowed}")


def mutates(obj: Any, attribute: str) -> bool:
    """Whether attribute of obj is a method that could change a list, dict or set (anything but reading)."""
    return isinstance(obj, (MutableMapping, MutableSequence, MutableSet)) and attribute not in READ_ONLY_METHODS


class SandboxedAnswersEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with errors worded for answers and a check on the project directory's name."""

    rules: ModuleType  # the rules of the release this environment renders, read when it was made

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Refuse, beyond Jinja's own list, every method of a container that is not read-only."""
        if callable(value) and mutates(obj, attr):
            return False
        return super().is_safe_attribute(obj, attr, value)

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
        """Read cookiecutter.<attribute>, refusing a slug that would name no folder or more than one."""
        value = super().getattr(obj, attribute)
        if attribute == SLUG_QUESTION and isinstance(obj, dict):
            check_folder_name(value, obj, self.rules.SLUG_ALLOWED)
            check_settings_in(obj, self.rules)
        if attribute == self.rules.TEMPLATE_LOCATION_KEY and isinstance(obj, dict):
            check_location_in(value, self.rules)
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        """Read cookiecutter['<key>'], refusing a slug that would name no folder or more than one."""
        value = super().getitem(obj, argument)
        if argument == SLUG_QUESTION and isinstance(obj, dict):
            check_folder_name(value, obj, self.rules.SLUG_ALLOWED)
            check_settings_in(obj, self.rules)
        if argument == self.rules.TEMPLATE_LOCATION_KEY and isinstance(obj, dict):
            check_location_in(value, self.rules)
        return value


@functools.cache
def sandboxed_class(base: type[Environment]) -> type[Environment]:
    """The class of an environment like base (cookiecutter's StrictEnvironment), sandboxed."""
    return type(f"Sandboxed{base.__name__}", (SandboxedAnswersEnvironment, base), {})


def sandbox(environment: Environment, rules: ModuleType) -> None:
    """Turn an environment that has compiled nothing yet into a sandboxed one that applies rules, in place."""
    environment.__class__ = sandboxed_class(type(environment))
    environment.rules = rules  # type: ignore[attr-defined]
    # What SandboxedEnvironment.__init__ would have set.
    environment.globals["range"] = safe_range
    environment.binop_table = SandboxedEnvironment.default_binop_table.copy()  # type: ignore[attr-defined]
    environment.unop_table = SandboxedEnvironment.default_unop_table.copy()  # type: ignore[attr-defined]


class SandboxedAnswers(Extension):
    """Jinja extension that checks and sandboxes the environment it is loaded into."""

    def __init__(self, environment: Environment) -> None:
        """Check Jinja and its settings, then sandbox the environment, with the rules read now, before it compiles."""
        super().__init__(environment)
        check_jinja(jinja2.__version__)
        check_settings(environment)
        sandbox(environment, load_rules())
        environment.globals["template_rules_loader"] = str(RULES_LOADER)
