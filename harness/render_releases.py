"""Render releases of one template checkout, one after another, in this one process, as `cruft update` does.

    python -I harness/render_releases.py TEMPLATE OUTPUT RELEASES_JSON

TEMPLATE is a git repository of the template; RELEASES_JSON a list of [tag, answers]. For each, the checkout
moves to the tag and cookiecutter's API renders it into OUTPUT/<n>. Like cruft, the process keeps every module it
imported (the extension included) from one render to the next. hooks/rules.py keeps the modification time it had
before the checkout: a release that changes only the release string then leaves it the same size and time, the
conditions under which a bytecode cache of the previous release passes for fresh. Writes OUTPUT/renders.json: each
render's error, or null. Run in isolated mode (-I), so that only the template's own extension can be imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cookiecutter.main import cookiecutter

RULES_FILE = Path("hooks") / "rules.py"


def check_out(template: Path, tag: str) -> None:
    """Move the checkout to tag, keeping hooks/rules.py's modification time."""
    before = (template / RULES_FILE).stat()
    subprocess.run(["git", "checkout", "--quiet", tag], cwd=template, check=True)
    os.utime(template / RULES_FILE, ns=(before.st_atime_ns, before.st_mtime_ns))


def render(template: Path, output: Path, answers: dict[str, Any]) -> str | None:
    """Render the checkout with cookiecutter's API: None, or the error with the one it wraps."""
    try:
        cookiecutter(str(template), no_input=True, output_dir=str(output), extra_context=answers)
    except Exception as err:  # any failure: the test reads it
        wrapped = getattr(err, "error", None)
        return f"{type(err).__name__}: {err}" + (f" ({wrapped})" if wrapped else "")
    return None


def main() -> int:
    """Render each release in turn and report each outcome."""
    template, output = Path(sys.argv[1]), Path(sys.argv[2])
    errors = []
    for number, (tag, answers) in enumerate(json.loads(sys.argv[3])):
        check_out(template, tag)
        errors.append(render(template, output / str(number), answers))
    (output / "renders.json").write_text(json.dumps(errors), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
