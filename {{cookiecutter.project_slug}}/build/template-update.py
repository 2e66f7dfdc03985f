#!/usr/bin/env python3
"""Bring the newest template release into this project, on a branch of its own (`make template-update`).

.cruft.json is input anyone with a pull request can change, and its `template`, `commit` and
`directory` decide which code cruft runs. So before cruft runs, this script accepts only the
template location fixed when the project was made (below), the template's root directory, and
release tags (vX.Y.Z) of that template; anything else is refused in one line. Then it finds the
newest release tag, runs `cruft update` on the branch template-update/vX.Y.Z, commits the result
there (conflicts included, for review), runs the releases' migrations (the template's
release-migrations/vX.Y.Z) and commits their change on its own, and lists the conflicts. A
migration that fails undoes the update. It never pushes and never commits to the branch it
started from. A template-update/vX.Y.Z branch that exists already (here or on a remote) must
begin with exactly what the release gives on the commit it starts from (the team's own commits
after it are theirs): anything else is refused, never taken for done.

Exit codes: 0 updated or nothing to do; 1 updated with conflicts to resolve; 2 refused or failed.
With TEMPLATE_UPDATE_REPORT set to a path, it writes the pull request's text there (Markdown), its
first line a comment saying whether the request is a draft and needs the label action-required.
With TEMPLATE_UPDATE_BUNDLE set to a path (CI's first job, which holds no token), it also writes
the new branch's commits to that git bundle for build/template-update-push.sh, names the branch in
$GITHUB_OUTPUT when there is one, and conflicts are no failure: the pull request lists them.

--status (make template-status) says, without changing anything, which release the project is on,
the newest, how far behind, the CHANGELOG entries between and the update branch; --json prints the
same as a JSON object, --markdown as Markdown. In GitHub Actions it also appends the Markdown to
the job summary ($GITHUB_STEP_SUMMARY).
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
MIGRATIONS = "release-migrations"  # in the template's root, outside the project: vX.Y.Z, run after cruft


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


def git(*args: str, check: bool = True, cwd: Path | None = None) -> str:
    """Run git in the project (or cwd); its output, or Refused naming the git command and its last line."""
    result = subprocess.run(["git", *args], capture_output=True, text=True, check=False, cwd=cwd)
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
    if not isinstance(state, dict):
        raise Refused(f"{CRUFT_FILE} is not allowed: a JSON object, not {type(state).__name__}")
    context = state.get("context")
    if not isinstance(context, dict) or not isinstance(context.get("cookiecutter"), dict):
        raise Refused(f"{CRUFT_FILE} is not cruft's: context must be an object holding a context.cookiecutter object")
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
    if checkout is not None and (not isinstance(checkout, str) or checkout not in releases):
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


def update_refs(branch: str) -> list[str]:
    """The update branch here and on every remote that was fetched, as refs."""
    refs = git("for-each-ref", "--format=%(refname)", f"refs/heads/{branch}", "refs/remotes/*/" + branch)
    return refs.split()


def short(ref: str) -> str:
    """A ref as people name it: template-update/v2.0.0, origin/template-update/v2.0.0."""
    return ref.removeprefix("refs/heads/").removeprefix("refs/remotes/")


def release_tree(base: str, release: Release) -> str:
    """The tree the update to the release gives on a commit: cruft in a throwaway worktree, everything added."""
    with tempfile.TemporaryDirectory() as directory:
        worktree = Path(directory) / "update"
        git("worktree", "add", "--quiet", "--detach", str(worktree), base)
        try:
            run_cruft(release, cwd=worktree, quiet=True)
            git("add", "--all", cwd=worktree)
            return git("write-tree", cwd=worktree).strip()
        finally:
            git("worktree", "remove", "--force", str(worktree), check=False)
            git("worktree", "prune", check=False)


def check_existing(refs: list[str], release: Release) -> None:
    """Refuse an update branch whose first commit on the base is not exactly what the release gives there."""
    trees: dict[str, str] = {}
    for ref in refs:
        base = git("merge-base", ref, "HEAD", check=False).strip()
        commits = git("rev-list", "--first-parent", "--reverse", f"{base}..{ref}").split() if base else []
        if not commits:
            raise Refused(f"{short(ref)} exists but holds no commit on this branch: delete it to redo the update")
        if base not in trees:
            trees[base] = release_tree(base, release)
        if git("rev-parse", commits[0] + "^{tree}").strip() != trees[base]:
            raise Refused(
                f"{short(ref)} exists but is not the update to {release.tag}: its first commit after {base[:12]} "
                f"differs from what {release.tag} gives there; review it, then delete it to redo the update"
            )


class Entry(NamedTuple):
    """A release's CHANGELOG entry: its lines, and those of its `### Action required` part."""

    tag: str
    lines: list[str]
    action: list[str]


def clone_release(release: Release, directory: Path) -> bool:
    """Clone the template at the release's tag into directory (only that commit); whether it worked."""
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
            str(directory),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return clone.returncode == 0


def changelog_text(release: Release) -> str:
    """The template's CHANGELOG.md at the release's tag ("" when there is none)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "CHANGELOG.md"
        return path.read_text(encoding="utf-8") if clone_release(release, Path(directory)) and path.is_file() else ""


def migrations_between(folder: Path, current: Release, release: Release) -> list[Path]:
    """The release's migrations (folder/vX.Y.Z) of the releases after current up to release, oldest first."""
    tags = [path.name for path in folder.iterdir() if RELEASE_TAG.fullmatch(path.name)] if folder.is_dir() else []
    between = [Release(tag, "") for tag in tags if current.number < Release(tag, "").number <= release.number]
    return [folder / r.tag for r in sorted(between, key=lambda r: r.number)]


def run_migrations(current: Release, release: Release) -> list[str]:
    """Run each migration the releases bring (the template's release-migrations/vX.Y.Z) here, oldest first.

    A migration is an executable file of the template at the newest release's tag; it runs in the
    project's folder after cruft, with TEMPLATE_UPDATE_FROM and TEMPLATE_UPDATE_TO set. A migration
    that is no executable file, or that fails, is refused: the caller removes the branch.
    """
    ran: list[str] = []
    with tempfile.TemporaryDirectory() as directory:
        if not clone_release(release, Path(directory)):
            raise Refused(f"could not clone {TEMPLATE} at {release.tag} for its migrations")
        for script in migrations_between(Path(directory) / MIGRATIONS, current, release):
            name = f"{MIGRATIONS}/{script.name}"
            if script.is_symlink() or not script.is_file() or not os.access(script, os.X_OK):
                raise Refused(f"{name} is not allowed: a migration is an executable file of the template")
            env = {**os.environ, "TEMPLATE_UPDATE_FROM": current.tag, "TEMPLATE_UPDATE_TO": release.tag}
            result = subprocess.run([str(script)], capture_output=True, text=True, check=False, env=env)
            sys.stdout.write(result.stdout)
            sys.stderr.write(result.stderr)
            if result.returncode != 0:
                raise Refused(f"{name} failed (exit {result.returncode}): the update is undone")
            ran.append(name)
    return ran


def entries(text: str, since: Release, release: Release) -> list[Entry]:
    """The CHANGELOG's `## vX.Y.Z` entries after `since` up to `release`, newest first, as written.

    Inside an entry, a `### Action required` heading starts what projects must do by hand; the
    next `##` or `###` heading ends it.
    """
    found: list[Entry] = []
    entry: Entry | None = None
    in_action = False
    for line in text.splitlines():
        heading = re.match(r"## \[?(v[0-9.]+)\]?", line)
        if heading or line.startswith("## "):
            tag = heading.group(1) if heading else ""
            keep = RELEASE_TAG.fullmatch(tag) is not None and since.number < Release(tag, "").number <= release.number
            entry = Entry(tag, [], []) if keep else None
            if entry:
                found.append(entry)
            in_action = False
        elif line.startswith("### "):
            in_action = line.strip().lower() == "### action required"
        if entry is None:
            continue
        if in_action and not line.startswith("### "):
            entry.action.append(line)
        elif not in_action:
            entry.lines.append(line)
    return [Entry(e.tag, trimmed(e.lines), trimmed(e.action)) for e in found]


def trimmed(lines: list[str]) -> list[str]:
    """Lines without the blank ones at either end."""
    text = "\n".join(lines).strip("\n")
    return text.splitlines() if text.strip() else []


# A mention (@user, @org/team, @group/subgroup) where GitHub and GitLab would notify it.
MENTION = re.compile(r"(?<![\w`@])@[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?(/[A-Za-z0-9_.-]*[A-Za-z0-9_-])*")
CODE_SPAN = re.compile(r"(`+)[^`]*?\1(?!`)")


def as_text(line: str) -> str:
    """A CHANGELOG line that renders as text: no HTML, no image, no mention; its code spans kept.

    `<`, `>` and `&` become entities (Markdown shows them as the characters), `![` loses its image,
    and each @mention becomes a code span, which neither GitHub nor GitLab turns into a notification.
    """
    parts: list[str] = []
    position = 0
    for span in CODE_SPAN.finditer(line):
        parts += [escaped(line[position : span.start()]), span.group(0)]
        position = span.end()
    return "".join([*parts, escaped(line[position:])])


def escaped(text: str) -> str:
    """Text outside code spans, made inert."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("![", "!\\[")
    return MENTION.sub(lambda mention: f"`{mention.group(0)}`", text)


def quoted(lines: list[str]) -> list[str]:
    """Lines as a Markdown quote, made inert; lines inside a ``` fence stay as written (code shows as text)."""
    out: list[str] = []
    fenced = False
    for line in lines:
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append(f"> {line}".rstrip())
            continue
        out.append(f"> {line if fenced else as_text(line)}".rstrip())
    if fenced:
        out.append("> ```")  # close it: nothing after the quote is code
    return out


def run_cruft(release: Release, cwd: Path | None = None, quiet: bool = False) -> None:
    """Run cruft update to the release's tag, recording the release as the `version` answer."""
    variables = json.dumps({"version": release.tag[1:]})
    command = [str(PYTOOL), "cruft", "update", "--skip-apply-ask", "--checkout", release.tag]
    command += ["--variables-to-update", variables]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd)
    if not quiet or result.returncode != 0:
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


class Request(NamedTuple):
    """What the pull request says about the releases it brings: the entries, and whether it must be read first."""

    current: Release
    release: Release
    entries: list[Entry]

    @property
    def major(self) -> bool:
        """Whether it brings a new MAJOR release."""
        return self.release.number[0] > self.current.number[0]

    @property
    def action_required(self) -> bool:
        """Whether any release it brings has an `### Action required` part."""
        return any(entry.action for entry in self.entries)

    @property
    def draft(self) -> bool:
        """Opened as a draft, so that no one merges it unread: a MAJOR release, or Action required."""
        return self.major or self.action_required

    def marker(self) -> str:
        """The report's first line, for build/template-update-push.sh: draft or not, and which labels."""
        yes = {True: "yes", False: "no"}
        return f"<!-- template-update: draft={yes[self.draft]} action-required={yes[self.action_required]} -->"


def request_for(current: Release, release: Release) -> Request:
    """The releases an update brings, with their CHANGELOG entries."""
    return Request(current, release, entries(changelog_text(release), current, release))


def must_read(request: Request) -> list[str]:
    """The report's first section when the request is a draft: what to do by hand, and the box to tick."""
    if not request.draft:
        return []
    why = f"{request.release.tag} is a MAJOR release" if request.major else "a release asks for work by hand"
    lines = [
        "## Action required",
        "",
        f"This pull request is a draft: {why}. Do what the releases below ask, on this branch, then tick",
        "the box and mark it ready for review.",
        "",
        "- [ ] I have done what *Action required* asks and read the CHANGELOG of the releases this brings.",
    ]
    for entry in request.entries:
        if entry.action:
            lines += ["", f"### {entry.tag}", "", *quoted(entry.action)]
    return [*lines, ""]


def what_changes(request: Request) -> str:
    """The entries, without their Action required parts (shown first), quoted."""
    lines: list[str] = []
    for entry in request.entries:
        if lines:
            lines.append(">")
        lines += quoted(entry.lines)
        if entry.action:
            lines += [">", "> (Action required: see above)"]
    return "\n".join(lines) or f"> (no CHANGELOG.md entry for {request.release.tag})"


def report(request: Request, merged: list[str], unmerged: list[str], rejected: list[str]) -> str:
    """The pull request's text: the release, what must be done by hand, its CHANGELOG entries, the conflicts."""
    release, current = request.release, request.current
    lines = [
        f"Template release {release.tag} (this project was at {current.tag}), from {TEMPLATE}.",
        "",
        *must_read(request),
        "## What changes (CHANGELOG)",
        "",
        what_changes(request),
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


def position() -> tuple[Release, Release, int]:
    """Check .cruft.json against the template's releases: the project's release, the newest, how many between."""
    check_location(TEMPLATE, "the template location fixed at generation")
    state = read_state()
    releases = list_releases()
    current = check_state(state, releases)
    newest = max(releases.values(), key=lambda r: r.number)
    return current, newest, sum(1 for r in releases.values() if current.number < r.number)


def update() -> int:
    """Check .cruft.json, then update to the newest release on its own branch."""
    current, newest, _ = position()
    if newest.number <= current.number:
        print(f"nothing to do: the project is at {current.tag}, the newest release of {TEMPLATE}")
        return 0
    branch = BRANCH_PREFIX + newest.tag
    if refs := update_refs(branch):
        check_existing(refs, newest)
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
    request = request_for(current, newest)
    text = report(request, merged, unmerged, rejected)
    git("commit", "--quiet", "--no-verify", "-m", f"Template release {newest.tag}", "-m", text)
    try:
        migrated = migrate(current, newest)
    except Refused:
        abandon(branch, start)
        raise
    if migrated:
        text += "\n## Migrations\n\nRun after the update, committed on their own: " + ", ".join(migrated) + ".\n"
    if path := os.environ.get("TEMPLATE_UPDATE_REPORT"):
        write(Path(path), f"{request.marker()}\n{text}")
    print(f"updated from {current.tag} to {newest.tag} on branch {branch}")
    handed_on = hand_on(branch)
    if unmerged or rejected:
        names = ", ".join(unmerged + rejected)
        print(f"error: {len(unmerged + rejected)} conflict(s) with {newest.tag} to resolve: {names}", file=sys.stderr)
        return 0 if handed_on else CONFLICTS
    return 0


def migrate(current: Release, release: Release) -> list[str]:
    """Run the releases' migrations on the update branch and commit what they change, on its own; their names."""
    migrated = run_migrations(current, release)
    if migrated and git("status", "--porcelain"):
        git("add", "--all")
        message = f"Template release {release.tag}: migrations"
        git("commit", "--quiet", "--no-verify", "-m", message, "-m", "Ran " + ", ".join(migrated) + ".")
    return migrated


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


# --- make template-status ------------------------------------------------------------------------


def status() -> dict[str, Any]:
    """Where the project stands: its release, the newest, the releases between, the update branch."""
    current, newest, behind = position()
    request = request_for(current, newest) if behind else Request(current, newest, [])
    branch = BRANCH_PREFIX + newest.tag
    refs = [short(ref) for ref in update_refs(branch)] if behind else []
    return {
        "template": TEMPLATE,
        "release": current.tag,
        "newest": newest.tag,
        "behind": behind,
        "major": request.major,
        "action_required": request.action_required,
        "changelog": [
            {"release": e.tag, "text": "\n".join(e.lines), "action_required": "\n".join(e.action)}
            for e in request.entries
        ],
        "update_branch": {"name": branch, "refs": refs} if refs else None,
    }


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def status_text(facts: dict[str, Any]) -> str:
    """The status for a person, on a terminal: control characters (escape sequences) of the CHANGELOG shown as ?."""
    return CONTROL.sub("?", plain_status(facts))


def plain_status(facts: dict[str, Any]) -> str:
    """The status as lines of text."""
    lines = [f"template: {facts['template']}", f"release:  {facts['release']}"]
    if not facts["behind"]:
        return "\n".join([*lines, f"newest:   {facts['newest']} (up to date)"]) + "\n"
    flags = [word for word, on in (("MAJOR", facts["major"]), ("action required", facts["action_required"])) if on]
    extra = f", {' and '.join(flags)}" if flags else ""
    lines.append(f"newest:   {facts['newest']} ({facts['behind']} release(s) behind{extra})")
    branch = facts["update_branch"]
    lines.append(
        f"update branch: {', '.join(branch['refs'])}" if branch else "update branch: none yet (make template-update)"
    )
    for entry in facts["changelog"]:
        lines += ["", *entry["text"].splitlines()]
        if entry["action_required"]:
            lines += ["", "### Action required", *entry["action_required"].splitlines()]
    return "\n".join(lines) + "\n"


def status_markdown(facts: dict[str, Any]) -> str:
    """The status for CI's job summary: the facts in a table, the CHANGELOG quoted and made inert."""
    branch = facts["update_branch"]
    rows = [
        ("Template", facts["template"]),
        ("Release", facts["release"]),
        ("Newest", facts["newest"]),
        ("Releases behind", str(facts["behind"])),
        ("Action required", "yes" if facts["action_required"] else "no"),
        ("Update branch", ", ".join(branch["refs"]) if branch else "none"),
    ]
    lines = ["## Template status", "", "| | |", "|---|---|", *[f"| {k} | `{v}` |" for k, v in rows]]
    for entry in facts["changelog"]:
        lines += ["", *quoted(entry["text"].splitlines())]
        if entry["action_required"]:
            lines += [">", "> ### Action required", *quoted(entry["action_required"].splitlines())]
    return "\n".join(lines) + "\n"


STATUS_FORMATS = {
    "": status_text,
    "--json": lambda facts: json.dumps(facts, indent=2) + "\n",
    "--markdown": status_markdown,
}


def main(args: list[str]) -> int:
    """Run the update, or --status [--json|--markdown]; one line on stderr when it is refused."""
    try:
        if args[:1] == ["--status"] and len(args) <= 2 and (args[1:] or [""])[0] in STATUS_FORMATS:
            facts = status()
            sys.stdout.write(STATUS_FORMATS[(args[1:] or [""])[0]](facts))
            if summary := os.environ.get("GITHUB_STEP_SUMMARY"):
                with Path(summary).open("a", encoding="utf-8") as file:
                    file.write(status_markdown(facts))
            return 0
        if args:
            raise Refused(f"arguments {json.dumps(args)} are not allowed: none, or --status [--json|--markdown]")
        return update()
    except Refused as err:
        print(f"error: {err}", file=sys.stderr)
        return REFUSED


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
