"""Git repositories the tests make: a fixed identity, the template as a team's fork of it, cruft."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from harness.template import TEMPLATE_DIR
from harness.tools import require_tool, run

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
# A template change: a comment in the Go code, as a template release might bring.
TEMPLATE_FILE = Path("{{cookiecutter.project_slug}}") / "handlers.go"
OLD_LINE = "// serviceName is the name the service reports about itself."
NEW_LINE = "// serviceName is the name the service reports about itself, in GET / and its logs."


def git(directory: Path, *args: str) -> str:
    """Run git with a fixed identity."""
    return run(["git", *args], cwd=directory, env=GIT_IDENTITY)


def template_files() -> list[str]:
    """The template repository's files: tracked, or new and not ignored."""
    listing = git(TEMPLATE_DIR, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    return sorted(name for name in listing.split("\0") if name and (TEMPLATE_DIR / name).is_file())


def template_repository(tmp_path: Path) -> Path:
    """Copy the template into a new git repository with one commit."""
    repository = tmp_path / "template"
    for name in template_files():
        target = repository / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE_DIR / name, target)
    git(repository, "init", "--quiet")
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "-m", "Template release 1")
    return repository


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the cruft command line; the caller checks the outcome."""
    command = [require_tool("cruft"), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def change_template(template: Path) -> None:
    """Release a template change and commit it."""
    path = template / TEMPLATE_FILE
    text = path.read_text(encoding="utf-8")
    assert OLD_LINE in text
    path.write_text(text.replace(OLD_LINE, NEW_LINE), encoding="utf-8")
    git(template, "commit", "--quiet", "--all", "-m", "Template release 2")
