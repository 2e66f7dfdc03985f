"""Git repositories the tests make: a fixed identity, the template as a team's fork of it, cruft."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
V1, V2, PATCH = "1.0.0", "2.0.0", "1.0.1"
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
    """Move the release (rules, cookiecutter.json, the form's step, pyproject.toml) from one to the next."""
    replace_in(template / RULES_FILE, f'TEMPLATE_RELEASE = "{old}"', f'TEMPLATE_RELEASE = "{new}"')
    replace_in(template / "cookiecutter.json", f'"version": "{old}"', f'"version": "{new}"')
    replace_in(template / "template.yaml", f'version: "{old}"', f'version: "{new}"')
    replace_in(template / "pyproject.toml", f'version = "{old}"', f'version = "{new}"')


def tag(template: Path, version: str) -> None:
    """Commit everything and tag it vX.Y.Z."""
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "--allow-empty", "-m", f"Template release v{version}")
    git(template, "tag", "--annotate", "-m", f"Template release v{version}", f"v{version}")


def release_repository(tmp_path: Path, location: str | None = None) -> Path:
    """The template as a team's fork, released as v1.0.0, with its own location fixed in it.

    That location is the repository's path, or the given one (an https URL it is served at).
    """
    template = template_repository(tmp_path)
    upstream = json.dumps(
        json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))["_template_location"]
    )
    fixed = json.dumps(location or str(template))
    replace_in(template / "cookiecutter.json", f'"_template_location": {upstream}', f'"_template_location": {fixed}')
    replace_in(template / "template.yaml", f"_template_location: {upstream}", f"_template_location: {fixed}")
    replace_in(template / RULES_FILE, f"TEMPLATE_LOCATION = {upstream}", f"TEMPLATE_LOCATION = {fixed}")
    tag(template, V1)
    return template


def release_patch(template: Path) -> None:
    """Release v1.0.1: only the release string changes, so hooks/rules.py keeps its size (a bytecode cache's check)."""
    size = (template / RULES_FILE).stat().st_size
    set_release(template, V1, PATCH)
    assert (template / RULES_FILE).stat().st_size == size
    tag(template, PATCH)


def release_v2(template: Path, changelog: str = CHANGELOG_V2, previous: str = V1) -> None:
    """Release v2.0.0 after `previous`: changes a file, adds one, removes one, with its CHANGELOG entry."""
    replace_in(template / TEMPLATE_FILE, OLD_LINE, NEW_LINE)
    (template / ADDED_FILE).write_text(ADDED_TEXT, encoding="utf-8")
    (template / REMOVED_FILE).unlink()
    set_release(template, previous, V2)
    replace_in(template / "CHANGELOG.md", "\n## v1.0.0", f"\n{changelog}\n## v1.0.0")
    tag(template, V2)


# A CHANGELOG entry as anyone with a commit to the template could write it: raw HTML that would load an
# image, fold text away or run script, mentions that would notify people, and a part projects must act on.
HOSTILE_HTML = (
    '<img src="https://evil.example/t.png">',
    "<details><summary>More</summary>",
    "<script>alert(1)</script>",
)
HOSTILE_MENTIONS = ("@org/platform-team", "@alice", "@all")
ACTION_TEXT = "- Set DATABASE_SSLMODE=verify-full in every environment before merging."
CHANGELOG_V2_HOSTILE = (
    "## v2.0.0\n\n"
    f"- handlers.go: a comment. {HOSTILE_HTML[0]} Thanks {HOSTILE_MENTIONS[0]} and {HOSTILE_MENTIONS[1]}!\n"
    f"- {HOSTILE_HTML[1]} hidden {HOSTILE_HTML[2]}; cc {HOSTILE_MENTIONS[2]}; mail ops@example.com.\n"
    "- Code stays code: `<b>` and `@alice`.\n"
    "- Colours stay \x1b[31mplain\x1b[0m.\n\n"
    "### Action required\n\n"
    f"{ACTION_TEXT}\n"
)


def commit_project(project: Path, message: str) -> None:
    """Make the project a git repository (if it is not yet one) and commit everything."""
    if not (project / ".git").exists():
        git(project, "init", "--quiet", "--initial-branch", "main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", message)


# --- Projects made from a release, and their template update -----------------------------------

USER_NOTE = "\n## Team notes\n\nOn call: the platform team.\n"


def made_by_cli(template: Path, output: Path, answers: Mapping[str, Any]) -> Path:
    """A project made by the cookiecutter command line from the template's checkout, committed."""
    output.mkdir(parents=True, exist_ok=True)
    pairs = [f"{key}={value}" for key, value in answers.items()]
    run([sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output), str(template), *pairs], cwd=output)
    project = output / str(answers["project_slug"])
    commit_project(project, "Generated by cookiecutter")
    return project


def made_by_cruft(template: Path, output: Path, answers: Mapping[str, Any]) -> Path:
    """A project made by cruft create at the template's newest release, committed."""
    output.mkdir(parents=True, exist_ok=True)
    context = json.dumps(dict(answers))
    created = cruft(
        "create", str(template), "--no-input", "--extra-context", context, "--output-dir", str(output), cwd=output
    )
    assert created.returncode == 0, created.stdout + created.stderr
    project = output / str(answers["project_slug"])
    commit_project(project, "Generated by cruft")
    return project


def add_user_note(project: Path) -> None:
    """The team's own edit, committed: a section at the end of the README."""
    readme = project / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + USER_NOTE, encoding="utf-8")
    git(project, "commit", "--quiet", "--all", "-m", "Team notes")


def cruft_like_pipx(pytools: Path, project: Path) -> Path:
    """A PYTOOLS_DIR whose cruft (at the project's pin, for build/pytool.sh) runs its Python with -E, as pipx's does.

    pipx writes -E into its commands' shebangs (pypa/pipx#1819): PYTHON* variables such as
    PYTHONDONTWRITEBYTECODE never reach cruft's own Python.
    """
    require_tool("cruft")
    pins = (project / "requirements-ci.txt").read_text(encoding="utf-8").splitlines()
    (pin,) = [line.split("#")[0].strip() for line in pins if line.startswith("cruft==")]
    command = pytools / pin / "bin" / "cruft"
    command.parent.mkdir(parents=True)
    command.write_text(f"#!{sys.executable} -E\nimport sys\n\nfrom cruft._cli import app\n\nsys.exit(app())\n")
    command.chmod(0o755)
    return pytools


def template_status(project: Path, target: str = "template-status") -> subprocess.CompletedProcess[str]:
    """Run `make template-status` (or template-status-json) in the project; the caller checks the outcome."""
    env = {**os.environ, **GIT_IDENTITY}
    return subprocess.run(
        ["make", target], cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def template_update(
    project: Path,
    report: Path | None = None,
    *,
    pytools: Path | None = None,
    bytecode: bool = False,
    bundle: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `make template-update` in the project (build/pytool.sh brings cruft); the caller checks the outcome.

    With a bundle path it runs as CI's first job does: the new branch written there for the push job.

    pytools is the PYTOOLS_DIR build/pytool.sh takes cruft from; with bytecode, Python writes its bytecode
    caches, as on a developer's machine or a CI runner (the tests' environment turns them off).
    """
    env = {**os.environ, **GIT_IDENTITY}
    if bundle is not None:
        env["TEMPLATE_UPDATE_BUNDLE"] = str(bundle)
    if pytools is not None:
        env["PYTOOLS_DIR"] = str(pytools)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    if report is not None:
        env["TEMPLATE_UPDATE_REPORT"] = str(report)
    return subprocess.run(
        ["make", "template-update"], cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False
    )


# --- Releases rendered in one process, as cruft renders them ------------------------------------

RENDER_RELEASES = Path(__file__).with_name("render_releases.py")


def render_in_one_process(template: Path, output: Path, releases: list[tuple[str, dict[str, Any]]]) -> list[str | None]:
    """Render each (tag, answers) of the template in turn in one new Python process, bytecode caches on: the errors.

    The process runs isolated (-I: PYTHON* variables ignored, as pipx's cruft runs) and its hooks without
    PYTHONDONTWRITEBYTECODE, so every import writes its cache, as on a developer's machine or a CI runner.
    """
    output.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-I", str(RENDER_RELEASES), str(template), str(output), json.dumps(releases)]
    result = subprocess.run(command, cwd=output, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((output / "renders.json").read_text(encoding="utf-8"))


# --- Hostile template code: what a planted .cruft.json would make cruft run ----------------------

HOOK_FILE = Path("hooks") / "pre_gen_project.py"


def payload(marker: Path) -> str:
    """A pre-generation hook that leaves a marker file: proof that the template's code ran."""
    return f"import pathlib\n\npathlib.Path({str(marker)!r}).touch()\n"


def hostile_commit(template: Path, marker: Path) -> str:
    """A commit of the template that is no release (on a branch of its own): its hook leaves the marker."""
    start = git(template, "branch", "--show-current").strip()
    git(template, "switch", "--quiet", "--create", "hostile")
    (template / HOOK_FILE).write_text(payload(marker), encoding="utf-8")
    evil = template / "evil"
    (evil / "hooks").mkdir(parents=True)
    (evil / "cookiecutter.json").write_text('{"project_slug": "evil"}\n', encoding="utf-8")
    (evil / HOOK_FILE).write_text(payload(marker), encoding="utf-8")
    (evil / "{{cookiecutter.project_slug}}").mkdir()
    (evil / "{{cookiecutter.project_slug}}" / "README.md").write_text("evil\n", encoding="utf-8")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "-m", "Not a release")
    commit = git(template, "rev-parse", "HEAD").strip()
    git(template, "switch", "--quiet", start)
    return commit


def other_template(template: Path, directory: Path, marker: Path) -> Path:
    """Another template: a clone whose newest release (v9.0.0) runs the marker hook."""
    git(directory.parent, "clone", "--quiet", str(template), str(directory))
    (directory / HOOK_FILE).write_text(payload(marker), encoding="utf-8")
    tag(directory, "9.0.0")
    return directory


# --- CI's second job, run by hand: build/template-update-push.sh against a loopback API ---------------

PUSH_TOKEN = "push-token-8d2e51"  # no server accepts it


def push_environment(ci: str, project: Path, remote: Path, api: str) -> dict[str, str]:
    """What GitHub Actions or GitLab CI give the push job on the project's main, the remote and API replaced."""
    base = git(project, "rev-parse", "main").strip()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("GITHUB_", "CI_"))}
    env.update({**GIT_IDENTITY, "TEMPLATE_UPDATE_REMOTE": str(remote), "TEMPLATE_UPDATE_API": api})
    if ci == "github":
        return {
            **env,
            "GITHUB_ACTIONS": "true",
            "GH_TOKEN": PUSH_TOKEN,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "example/project",
            "GITHUB_API_URL": "https://api.github.com",
            "GITHUB_REF_NAME": "main",
            "GITHUB_SHA": base,
        }
    return {
        **env,
        "TEMPLATE_UPDATE_TOKEN": PUSH_TOKEN,
        "CI_API_V4_URL": "https://gitlab.com/api/v4",
        "CI_SERVER_URL": "https://gitlab.com",
        "CI_PROJECT_PATH": "example/project",
        "CI_PROJECT_ID": "42",
        "CI_COMMIT_BRANCH": "main",
        "CI_COMMIT_SHA": base,
    }


def template_update_push(
    ci: str, project: Path, remote: Path, api: str, bundle: Path, report: Path
) -> subprocess.CompletedProcess[str]:
    """Run `make template-update-push` in the project on main, as the push job would; the caller checks it."""
    env = {**push_environment(ci, project, remote, api), "TEMPLATE_UPDATE_BUNDLE": str(bundle)}
    env["TEMPLATE_UPDATE_REPORT"] = str(report)
    return subprocess.run(
        ["make", "template-update-push"], cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False
    )


# --- A release's migration: release-migrations/vX.Y.Z in the template's root, run after cruft ----------

MIGRATION_NOTE = "MIGRATED.md"
MIGRATION = f"""#!/bin/sh
# Template release migration: what cruft cannot do (here: a note naming the releases it moved between).
set -eu
printf '# Migrated\\n\\nFrom %s to %s.\\n' "$TEMPLATE_UPDATE_FROM" "$TEMPLATE_UPDATE_TO" > {MIGRATION_NOTE}
"""


def add_migration(template: Path, version: str, script: str = MIGRATION, *, executable: bool = True) -> Path:
    """Write the template's release-migrations/v<version> (committed with the next tag)."""
    path = template / "release-migrations" / f"v{version}"
    path.parent.mkdir(exist_ok=True)
    path.write_text(script, encoding="utf-8")
    path.chmod(0o755 if executable else 0o644)
    return path


# --- A fleet: services pushed to origins of their own, releases cut one after another -----------


def with_origin(project: Path, origins: Path) -> Path:
    """Give the project a bare `origin` (origins/<name>.git) holding its main branch; return the origin."""
    origin = origins / f"{project.name}.git"
    origins.mkdir(parents=True, exist_ok=True)
    git(origins, "init", "--quiet", "--bare", "--initial-branch", "main", str(origin))
    git(project, "remote", "add", "origin", str(origin))
    git(project, "push", "--quiet", "origin", "main")
    return origin


def cut_release(template: Path, old: str, new: str, changelog: str) -> None:
    """Release vNEW after vOLD: the release string moved, the CHANGELOG entry above the previous one, tagged."""
    set_release(template, old, new)
    replace_in(template / "CHANGELOG.md", f"\n## v{old}", f"\n{changelog}\n## v{old}")
    tag(template, new)


def merge_update(project: Path, branch: str) -> None:
    """The team merges the update branch into main and pushes main, as after a reviewed pull request."""
    git(project, "switch", "--quiet", "main")
    git(project, "merge", "--quiet", "--no-ff", "--no-edit", branch)
    git(project, "push", "--quiet", "origin", "main")
