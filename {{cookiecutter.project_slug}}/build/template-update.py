#!/usr/bin/env python3
"""Bring the newest template release into this project, on a branch of its own (`make template-update`).

.cruft.json is input anyone with a pull request can change, and its `template`, `commit` and
`directory` decide which code cruft runs. So before cruft runs, this script accepts only the
template location fixed when the project was made (below), the template's root directory, and
release tags (vX.Y.Z) of that template; anything else is refused in one line. Then it finds the
newest release tag, runs `cruft update` on the branch template-update/vX.Y.Z, commits the result
there (conflicts included, for review), and lists the conflicts. It never pushes and never
commits to the branch it started from.

Exit codes: 0 updated or nothing to do; 1 updated with conflicts to resolve; 2 refused or failed.
With TEMPLATE_UPDATE_REPORT set to a path, it writes the pull request's text there (Markdown).
With TEMPLATE_UPDATE_BUNDLE set to a path (CI's first job, which holds no token), it also writes
the new branch's commits to that git bundle for build/template-update-push.sh, names the branch in
$GITHUB_OUTPUT when there is one, and conflicts are no failure: the pull request lists them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

# Fixed when the project was made: the template's `_template_location`.
TEMPLATE: str = json.loads(r'''{{ cookiecutter._template_location | tojson }}''')  # fmt: skip
CRUFT_FILE = Path(".cruft.json")
BRANCH_PREFIX = "template-update/"
RELEASE_TAG = re.compile(r"v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
COMMIT = re.compile(r"[0-9a-f]{40}")
PEELED = "^{commit}"
LOCATION = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)+|/[A-Za-z0-9._~/+-]+")
PYTOOL = Path(__file__).resolve().parent / "pytool.sh"  # runs cruft at the release requirements-ci.txt pins
# git may reach the template only over https or as a local path: never ssh, git:// or ext:: commands.
ONLY_HTTPS_AND_FILES = (
    "-c",
    "protocol.allow=never",
    "-c",
    "protocol.https.allow=always",
    "-c",
    "protocol.file.allow=always",
)
CONFLICTS, REFUSED = 1, 2


class Refused(Exception):
    """A reason not to go on, said in one line."""


class Release(NamedTuple):
    """A release tag of the template and the commit it names."""

    tag: str
    commit: str

    @property
    def number(self) -> tuple[int, ...]:
        """The release as numbers, for ordering."""
        return tuple(int(part) for part in self.tag[1:].split("."))


def git(*args: str, check: bool = True) -> str:
    """Run git in the project; its output, or Refused naming the git command and its last line."""
    result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        command = next(arg for arg in args if not arg.startswith("-") and "=" not in arg)
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise Refused(f"git {command} failed: {detail}")
    return result.stdout


def redacted(value: object) -> str:
    """A value as JSON for an error line, with any user and password in a URL replaced by ***."""
    return re.sub(r"(://)[^/@]*@", r"\1***@", json.dumps(value))


def check_location(value: object, name: str) -> str:
    """Accept an https URL with no credentials, query or fragment, or an absolute local path."""
    if not isinstance(value, str) or not LOCATION.fullmatch(value) or "/../" in f"{value}/":
        shown = redacted(value)
        raise Refused(f"{name}={shown} is not allowed: an https:// URL without credentials, or an absolute path")
    return value


def read_state() -> dict[str, Any]:
    """The project's .cruft.json, as a JSON object."""
    if not CRUFT_FILE.is_file() or CRUFT_FILE.is_symlink():
        raise Refused(f"{CRUFT_FILE} is missing: run this in a project made from the template")
    try:
        state = json.loads(CRUFT_FILE.read_text(encoding="utf-8"))
    except ValueError as err:
        raise Refused(f"{CRUFT_FILE} is not JSON: {err}") from err
    if not isinstance(state, dict) or not isinstance(state.get("context", {}).get("cookiecutter"), dict):
        raise Refused(f"{CRUFT_FILE} is not cruft's: no context.cookiecutter object")
    return state


def check_state(state: dict[str, Any], releases: dict[str, Release]) -> Release:
    """Refuse any template, directory, commit or checkout but this template's root at a release; return it."""
    template = check_location(state.get("template"), "template")
    if template != TEMPLATE:
        raise Refused(f"template={json.dumps(template)} is not allowed: only {TEMPLATE}, where this project came from")
    if state.get("directory") not in (None, "", "."):
        shown = json.dumps(state.get("directory"))
        raise Refused(f"directory={shown} is not allowed: only the template's root (null)")
    checkout = state.get("checkout")
    if checkout is not None and checkout not in releases:
        raise Refused(f"checkout={json.dumps(checkout)} is not allowed: null or a release tag vX.Y.Z of {TEMPLATE}")
    commit = state.get("commit")
    # A release tag, the commit it names (tag^{commit}, what a project made without cruft records), or its SHA.
    current = releases.get(commit.removesuffix(PEELED)) if isinstance(commit, str) else None
    if current is None and isinstance(commit, str) and COMMIT.fullmatch(commit):
        current = max((r for r in releases.values() if r.commit == commit), key=lambda r: r.number, default=None)
    if current is None:
        raise Refused(f"commit={json.dumps(commit)} is not allowed: a release tag vX.Y.Z of {TEMPLATE} or its commit")
    return current


def list_releases() -> dict[str, Release]:
    """The template's release tags (vX.Y.Z), each with the commit it names (annotated tags peeled)."""
    listing = git(
        *ONLY_HTTPS_AND_FILES,
        "ls-remote",
        "--tags",
        "--",
        TEMPLATE,
    )
    commits: dict[str, str] = {}
    for line in listing.splitlines():
        commit, _, ref = line.partition("\t")
        name = ref.removeprefix("refs/tags/")
        peeled = name.removesuffix("^{}")
        if RELEASE_TAG.fullmatch(peeled) and (peeled not in commits or name != peeled):
            commits[peeled] = commit
    if not commits:
        raise Refused(f"{TEMPLATE} has no release tag vX.Y.Z")
    return {tag: Release(tag, commit) for tag, commit in commits.items()}


def check_clean() -> None:
    """Refuse a working tree with changes: the update must be the branch's only change."""
    if git("status", "--porcelain"):
        raise Refused("the working tree has changes: commit or stash them first")


def branch_exists(branch: str) -> bool:
    """Whether the update branch exists here or on a remote that was fetched."""
    refs = git("for-each-ref", "--format=%(refname)", f"refs/heads/{branch}", "refs/remotes/*/" + branch)
    return bool(refs.strip())


def changelog(release: Release, since: Release) -> str:
    """The template CHANGELOG's entries after `since` up to `release`, quoted for a pull request."""
    with tempfile.TemporaryDirectory() as directory:
        clone = subprocess.run(
            [
                "git",
                *ONLY_HTTPS_AND_FILES,
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--branch",
                release.tag,
                "--",
                TEMPLATE,
                directory,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        path = Path(directory) / "CHANGELOG.md"
        text = path.read_text(encoding="utf-8") if clone.returncode == 0 and path.is_file() else ""
    kept: list[str] = []
    keep = False
    for line in text.splitlines():
        heading = re.match(r"## \[?(v[0-9.]+)\]?", line)
        if heading:
            tag = heading.group(1)
            keep = RELEASE_TAG.fullmatch(tag) is not None and since.number < Release(tag, "").number <= release.number
        if keep:
            kept.append(f"> {line}".rstrip())
    while kept and kept[-1] == ">":
        kept.pop()
    return "\n".join(kept) or f"> (no CHANGELOG.md entry for {release.tag})"


def run_cruft(release: Release) -> None:
    """Run cruft update to the release's tag, recording the release as the `version` answer."""
    variables = json.dumps({"version": release.tag[1:]})
    command = [str(PYTOOL), "cruft", "update", "--skip-apply-ask", "--checkout", release.tag]
    command += ["--variables-to-update", variables]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise Refused(f"cruft update to {release.tag} failed (exit {result.returncode})")


def abandon(branch: str, start: str) -> None:
    """Undo a failed update: back to where it started, the update branch deleted."""
    git("reset", "--quiet", "--hard", check=False)
    git("clean", "--quiet", "--force", "-d", check=False)
    git("checkout", "--quiet", start, check=False)
    git("branch", "--quiet", "-D", branch, check=False)


def changed_files(since: str) -> set[str]:
    """Files committed since a commit, without .cruft.json."""
    return set(git("diff", "--name-only", since, "HEAD").split()) - {str(CRUFT_FILE)}


def conflicts() -> tuple[list[str], list[str]]:
    """Files the update could not merge (conflict markers) and the .rej files it left."""
    unmerged = sorted(set(git("diff", "--name-only", "--diff-filter=U").split()))
    untracked = git("ls-files", "--others", "--exclude-standard").split()
    rejected = sorted(name for name in untracked if name.endswith(".rej"))
    return unmerged, rejected


def report(current: Release, release: Release, merged: list[str], unmerged: list[str], rejected: list[str]) -> str:
    """The pull request's text: the release, its CHANGELOG entry, the conflicts."""
    lines = [
        f"Template release {release.tag} (this project was at {current.tag}), from {TEMPLATE}.",
        "",
        "## What changes (CHANGELOG)",
        "",
        changelog(release, current),
        "",
        "## Conflicts",
        "",
    ]
    if unmerged or rejected:
        lines.append("Resolve these before merging (conflict markers, or hunks left in .rej files):")
        lines += [f"- `{name}`" for name in unmerged + rejected]
    else:
        lines.append("None.")
    if merged:
        lines += ["", "Changed here and by the release (merged without conflict, worth a look):"]
        lines += [f"- `{name}`" for name in merged]
    return "\n".join(lines) + "\n"


def update() -> int:
    """Check .cruft.json, then update to the newest release on its own branch."""
    check_location(TEMPLATE, "the template location fixed at generation")
    state = read_state()
    releases = list_releases()
    current = check_state(state, releases)
    newest = max(releases.values(), key=lambda r: r.number)
    if newest.number <= current.number:
        print(f"nothing to do: the project is at {current.tag}, the newest release of {TEMPLATE}")
        return 0
    branch = BRANCH_PREFIX + newest.tag
    if branch_exists(branch):
        print(f"nothing to do: {branch} exists already (review and merge it, or delete it to redo the update)")
        return 0
    check_clean()
    baseline = git("log", "-1", "--format=%H", "--", str(CRUFT_FILE)).strip() or "HEAD"
    ours = changed_files(baseline)
    start = git("branch", "--show-current").strip() or git("rev-parse", "HEAD").strip()  # CI may be detached
    git("switch", "--quiet", "--create", branch)
    try:
        run_cruft(newest)
    except Refused:
        abandon(branch, start)
        raise
    unmerged, rejected = conflicts()
    theirs = {line[3:] for line in git("status", "--porcelain", "--untracked-files=all").splitlines()}
    merged = sorted((ours & theirs) - set(unmerged))
    git("add", "--all")
    text = report(current, newest, merged, unmerged, rejected)
    git("commit", "--quiet", "--no-verify", "-m", f"Template release {newest.tag}", "-m", text)
    if path := os.environ.get("TEMPLATE_UPDATE_REPORT"):
        write(Path(path), text)
    print(f"updated from {current.tag} to {newest.tag} on branch {branch}")
    handed_on = hand_on(branch)
    if unmerged or rejected:
        names = ", ".join(unmerged + rejected)
        print(f"error: {len(unmerged + rejected)} conflict(s) with {newest.tag} to resolve: {names}", file=sys.stderr)
        return 0 if handed_on else CONFLICTS
    return 0


def write(path: Path, text: str) -> None:
    """Write a file, its folder made first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def hand_on(branch: str) -> bool:
    """In CI, write the branch, its whole history, to TEMPLATE_UPDATE_BUNDLE for the job that pushes it."""
    bundle = os.environ.get("TEMPLATE_UPDATE_BUNDLE")
    if not bundle:
        return False
    Path(bundle).parent.mkdir(parents=True, exist_ok=True)
    git("bundle", "create", "--quiet", bundle, f"refs/heads/{branch}")
    if outputs := os.environ.get("GITHUB_OUTPUT"):
        with Path(outputs).open("a", encoding="utf-8") as file:
            file.write(f"branch={branch}\n")
    print(f"wrote {branch} to {bundle} for the job that pushes it")
    return True


def main() -> int:
    """Run the update; one line on stderr when it is refused."""
    try:
        return update()
    except Refused as err:
        print(f"error: {err}", file=sys.stderr)
        return REFUSED


if __name__ == "__main__":
    raise SystemExit(main())
