"""Git repositories the tests make: a fixed identity, the template as a team's fork of it, cruft."""

from __future__ import annotations

import json
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


# --- Releases: tags vX.Y.Z of the template, as a platform team cuts them -----------------------

RULES_FILE = Path("hooks") / "rules.py"
# v2's changes: a file changed (TEMPLATE_FILE), one added, one removed.
ADDED_FILE = Path("{{cookiecutter.project_slug}}") / "SECURITY.md"
ADDED_TEXT = "# Security\n\nReport a vulnerability to the platform team, never in a public issue.\n"
REMOVED_FILE = Path("{{cookiecutter.project_slug}}") / ".editorconfig"
V1, V2 = "1.0.0", "2.0.0"
CHANGELOG_V2 = (
    "## v2.0.0\n\n"
    "- handlers.go: the serviceName comment says where the name shows.\n"
    "- New SECURITY.md: how to report a vulnerability.\n"
    "- .editorconfig removed.\n"
)


def replace_in(path: Path, old: str, new: str) -> None:
    """Replace text that must be there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def set_release(template: Path, old: str, new: str) -> None:
    """Move the `version` default (rules, cookiecutter.json, the form's step) from one release to the next."""
    replace_in(template / RULES_FILE, f'TEMPLATE_RELEASE = "{old}"', f'TEMPLATE_RELEASE = "{new}"')
    replace_in(template / "cookiecutter.json", f'"version": "{old}"', f'"version": "{new}"')
    replace_in(template / "template.yaml", f'version: "{old}"', f'version: "{new}"')


def tag(template: Path, version: str) -> None:
    """Commit everything and tag it vX.Y.Z."""
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "--allow-empty", "-m", f"Template release v{version}")
    git(template, "tag", "--annotate", "-m", f"Template release v{version}", f"v{version}")


def release_repository(tmp_path: Path) -> Path:
    """The template as a team's fork: its own location fixed in it, released as v1.0.0."""
    template = template_repository(tmp_path)
    upstream = json.dumps(
        json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))["_template_location"]
    )
    location = json.dumps(str(template))
    replace_in(template / "cookiecutter.json", f'"_template_location": {upstream}', f'"_template_location": {location}')
    replace_in(template / "template.yaml", f"_template_location: {upstream}", f"_template_location: {location}")
    replace_in(template / RULES_FILE, f"TEMPLATE_LOCATION = {upstream}", f"TEMPLATE_LOCATION = {location}")
    tag(template, V1)
    return template


def release_v2(template: Path) -> None:
    """Release v2.0.0: changes a file, adds one, removes one, with its CHANGELOG entry."""
    replace_in(template / TEMPLATE_FILE, OLD_LINE, NEW_LINE)
    (template / ADDED_FILE).write_text(ADDED_TEXT, encoding="utf-8")
    (template / REMOVED_FILE).unlink()
    set_release(template, V1, V2)
    replace_in(template / "CHANGELOG.md", "\n## v1.0.0", f"\n{CHANGELOG_V2}\n## v1.0.0")
    tag(template, V2)


def commit_project(project: Path, message: str) -> None:
    """Make the project a git repository (if it is not yet one) and commit everything."""
    if not (project / ".git").exists():
        git(project, "init", "--quiet", "--initial-branch", "main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", message)
