"""Validate every answer before cookiecutter writes a single file.

The rules live in hooks/rules.py (plain Python, shared with the sandbox, the form generator and the
tests); this hook only reads the answers and applies them. An invalid answer ends generation with
one line on stderr naming the question, the value and what is allowed, and exit code 1;
cookiecutter then removes the project directory it had just created, so nothing is left behind.
The path of the rules' one loader (hooks/rules_loader.py, which reads them afresh, never from a bytecode
cache) comes from the template's sandbox extension: rendered without it, this hook stops generation.
"""

from __future__ import annotations

import json
import runpy
import sys
from typing import Any

# Every answer, rendered as JSON data (never as code) and read back. Triple single quotes on
# purpose: Jinja's tojson escapes ' as \u0027, so no answer can end this string early.
ANSWERS: dict[str, Any] = json.loads(r'''{{ cookiecutter | tojson }}''')  # fmt: skip
# Set by the sandbox extension; empty when the template is rendered without it.
RULES_LOADER: str = json.loads(r'''{{ template_rules_loader | default("") | tojson }}''')  # fmt: skip
SANDBOX_MISSING = (
    '_extensions={} is not allowed: ["local_extensions.SandboxedAnswers"] (the sandbox; without it the answers '
    "were rendered as code and cannot be checked)"
)

if not RULES_LOADER:
    print("error: " + SANDBOX_MISSING.format(json.dumps(ANSWERS.get("_extensions"))), file=sys.stderr)
    raise SystemExit(1)
rules = runpy.run_path(RULES_LOADER)["load_rules"]()  # the template's own rules, read afresh
InvalidAnswer = rules.InvalidAnswer
check_answers = rules.check_answers
check_bool = rules.check_bool
module_path_problem = rules.module_path_problem
SLUG, OWNER, SLUG_ALLOWED = rules.SLUG, rules.OWNER, rules.SLUG_ALLOWED
MIN_PORT, MAX_PORT = rules.MIN_PORT, rules.MAX_PORT


def error(message: str) -> None:
    """Print an error line on stderr."""
    print(f"error: {message}", file=sys.stderr)


def main() -> int:
    """Validate the answers; exit 1 with one clear line if any is invalid."""
    try:
        rules.check_context(ANSWERS)
    except InvalidAnswer as err:
        error(str(err))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
