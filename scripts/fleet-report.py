#!/usr/bin/env python3
"""Where the fleet stands: each service's template release, how far behind it is, its open update.

    python3 scripts/fleet-report.py [--template LOCATION] [--json] REPOSITORY...
    python3 scripts/fleet-report.py --template LOCATION --catalog ENTITIES.json [--json]

A REPOSITORY is a service's git repository: an https:// URL (no credentials) or a local path. The
tips of its branches are cloned bare (no working tree, nothing checked out, nothing run) into a
temporary folder, removed afterwards. Its default branch's (HEAD's) `.cruft.json` gives the slug,
the `owner` answer, the release (`context.cookiecutter.version`) and the template's location.
--catalog reads a Backstage catalog export instead: the JSON array `GET /api/catalog/entities`
returns (or the `items` of `/entities/by-query`); every Component whose
`backstage.io/source-template` names this template gives a row from its name, `spec.owner` and
`backstage.io/template-version`.

The template's releases are its tags vX.Y.Z (`git ls-remote --tags` of --template, or else of the
location the repositories name). Per row: `behind` counts the releases newer than the row's;
`open_update` is the newest branch template-update/vX.Y.Z of a release newer than the row's (made
by `make template-update`, not merged yet); `last_update_attempt` is the committer date (UTC) of the
newest template-update/* branch tip, merged or not. A catalog row has neither: it has no branches.

Repository content is data: a `.cruft.json` that is missing, too big, a symlink, not JSON, or
holds a field out of shape is reported in its row, which names the field. Exit codes: 0 the
report, every row whole; 1 the report, some rows with an error; 2 a bad argument or an unreachable
template (one line on stderr, nothing printed or left behind).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import runpy
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RULES_LOADER = ROOT / "hooks" / "rules_loader.py"
STATE_FILE = ".cruft.json"
MAX_STATE_BYTES = 1_000_000
BRANCH_PREFIX = "template-update/"
RELEASE_TAG = re.compile(r"v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
# template.yaml's metadata.name, as Backstage refers to the Template (the skeleton's catalog-info.yaml says the same).
TEMPLATE_REF = "template:default/go-scratch-service"
NAMESPACE = re.compile(r"\A[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\Z")  # Backstage's: a DNS label
SOURCE_TEMPLATE, TEMPLATE_VERSION = "backstage.io/source-template", "backstage.io/template-version"
# git may reach repositories and the template only over https or as a local path: never ssh, git:// or ext::.
ONLY_HTTPS_AND_FILES = (
    "-c",
    "protocol.allow=never",
    "-c",
    "protocol.https.allow=always",
    "-c",
    "protocol.file.allow=always",
)
GIT_ENV = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
GIT_TIMEOUT = 600
LOCATION_HINT = "an https:// URL without credentials, or a local path"
HEADER = ("SLUG", "OWNER", "RELEASE", "BEHIND", "OPEN UPDATE", "LAST UPDATE ATTEMPT", "REPOSITORY", "ERROR")


class Refused(Exception):
    """A bad argument or an unreachable template, said in one line."""


class RowError(Exception):
    """What is wrong with one repository or entity, said in one line for its row."""


@dataclass
class Row:
    """One service of the fleet, as the report shows it."""

    repository: str
    slug: str | None = None
    owner: str | None = None
    release: str | None = None
    behind: int | None = None
    open_update: str | None = None
    last_update_attempt: str | None = None
    error: str | None = None


@dataclass
class Found:
    """What one repository says, before it is compared with the template's releases."""

    row: Row
    template: str | None = None
    branches: tuple[tuple[str, int], ...] = ()  # template-update/* branches and their tips' committer times


def load_rules() -> ModuleType:
    """The template's rules (hooks/rules.py): the slug, owner, release and location patterns."""
    return runpy.run_path(str(RULES_LOADER))["load_rules"]()


RULES = load_rules()


def shown(value: object) -> str:
    """A value for an error line: JSON, credentials in a URL hidden, at most 80 characters."""
    text = re.sub(r"(://)[^/@]*@", r"\1***@", json.dumps(value, ensure_ascii=True))
    return text if len(text) <= 80 else text[:77] + "..."


def release_number(release: str) -> tuple[int, int, int]:
    """A release MAJOR.MINOR.PATCH as numbers, for ordering."""
    major, minor, patch = (int(part) for part in release.split("."))
    return major, minor, patch


# --- Arguments -----------------------------------------------------------------------------------


def location(value: str, name: str) -> str:
    """An https URL without credentials as given, or a local directory as an absolute path; else Refused."""
    if "://" in value or "::" in value or re.match(r"[^/]*@[^/]*:", value):
        if RULES.TEMPLATE_LOCATION_RE.search(value) and value.startswith("https://"):
            return value
        raise Refused(f"{name}={shown(value)} is not allowed: {LOCATION_HINT}")
    path = Path(value).resolve()
    if not path.is_dir() or not RULES.TEMPLATE_LOCATION_RE.search(str(path)):
        raise Refused(f"{name}={shown(value)} is not allowed: {LOCATION_HINT} (no such directory, or odd characters)")
    return str(path)


class Parser(argparse.ArgumentParser):
    """argparse, its errors said in one line (no usage block)."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        """Refuse in one line."""
        raise Refused(message)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """The command line, checked whole before anything is cloned."""
    parser = Parser(description="Report each service's template release and open update.")
    parser.add_argument(
        "repositories", nargs="*", metavar="REPOSITORY", help=f"a service's git repository: {LOCATION_HINT}"
    )
    parser.add_argument(
        "--template", help=f"the template's location ({LOCATION_HINT}); default: what the repositories name"
    )
    parser.add_argument(
        "--catalog", type=Path, help="a Backstage catalog export: the JSON of GET /api/catalog/entities"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON array instead of the table")
    arguments = parser.parse_args(argv)
    if not arguments.repositories and arguments.catalog is None:
        raise Refused("nothing to report on: give REPOSITORY arguments or --catalog")
    arguments.repositories = [location(value, "repository") for value in arguments.repositories]
    if arguments.template is not None:
        arguments.template = location(arguments.template, "--template")
    elif arguments.catalog is not None and not arguments.repositories:
        raise Refused("--catalog needs --template: catalog entities do not name the template's location")
    return arguments


# --- The template's releases ---------------------------------------------------------------------


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git with https and local paths only; its output, or RowError naming the command and its last line."""
    try:
        result = subprocess.run(
            ["git", *ONLY_HTTPS_AND_FILES, *args],
            cwd=cwd,
            env=GIT_ENV,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise RowError(f"git {args[0]} took longer than {GIT_TIMEOUT} s") from err
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        detail = re.sub(r"[^\x20-\x7e]", "?", detail)[:200]
        raise RowError(f"git {args[0]} failed: {detail}")
    return result.stdout


def list_releases(template: str) -> list[str]:
    """The template's releases (MAJOR.MINOR.PATCH of its tags vX.Y.Z), oldest first; Refused when unreachable."""
    try:
        listing = git("ls-remote", "--tags", "--", template)
    except RowError as err:
        raise Refused(f"template={shown(template)}: {err}") from err
    names = {line.partition("\t")[2].removeprefix("refs/tags/").removesuffix("^{}") for line in listing.splitlines()}
    releases = sorted((name[1:] for name in names if RELEASE_TAG.fullmatch(name)), key=release_number)
    if not releases:
        raise Refused(f"template={shown(template)} has no release tag vX.Y.Z")
    return releases


# --- One repository ------------------------------------------------------------------------------


def clone(repository: str, directory: Path) -> Path:
    """A bare clone of every branch's tip (the history is not needed): no working tree, nothing checked out or run.

    git ignores --depth for a local path, which it links instead of copying.
    """
    target = directory / "repository.git"
    git("clone", "--quiet", "--bare", "--depth", "1", "--no-single-branch", "--", repository, str(target))
    return target


def state_text(clone_dir: Path) -> str:
    """The default branch's .cruft.json as text: a regular file of at most MAX_STATE_BYTES, in UTF-8."""
    try:
        entry = git("ls-tree", "HEAD", "--", STATE_FILE, cwd=clone_dir).split()
    except RowError as err:
        raise RowError(f"the default branch cannot be read ({err})") from err
    if not entry:
        raise RowError(f"{STATE_FILE} is missing on the default branch")
    mode, kind, blob = entry[:3]
    if mode not in ("100644", "100755") or kind != "blob":
        raise RowError(f"{STATE_FILE} is not a regular file (mode {mode})")
    size = int(git("cat-file", "-s", blob, cwd=clone_dir))
    if size > MAX_STATE_BYTES:
        raise RowError(f"{STATE_FILE} is {size} bytes, more than {MAX_STATE_BYTES}")
    read = subprocess.run(["git", "cat-file", "blob", blob], cwd=clone_dir, capture_output=True, check=False)
    if read.returncode != 0:
        raise RowError(f"{STATE_FILE} cannot be read (git cat-file exited {read.returncode})")
    try:
        return read.stdout.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RowError(f"{STATE_FILE} is not UTF-8: {err}") from err


def field(mapping: dict[str, Any], key: str, pattern: re.Pattern[str], name: str) -> str:
    """A string field that matches its pattern; RowError naming the field and its value otherwise."""
    value = mapping.get(key)
    if not isinstance(value, str) or not pattern.search(value):
        raise RowError(f"{name}={shown(value)} is not allowed")
    return value


def read_state(text: str, row: Row) -> str:
    """Fill the row from .cruft.json (slug, owner, release) and return the template location it names."""
    try:
        state = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise RowError(f"{STATE_FILE} is not JSON: {str(err)[:80]}") from err
    context = state.get("context") if isinstance(state, dict) else None
    answers = context.get("cookiecutter") if isinstance(context, dict) else None
    if not isinstance(answers, dict):
        raise RowError(f"{STATE_FILE} is not cruft's: no context.cookiecutter object")
    row.slug = field(answers, "project_slug", RULES.SLUG, "context.cookiecutter.project_slug")
    row.owner = field(answers, "owner", RULES.OWNER, "context.cookiecutter.owner")
    row.release = field(answers, "version", RULES.TEMPLATE_VERSION, "context.cookiecutter.version")
    template = field(state, "template", RULES.TEMPLATE_LOCATION_RE, "template")
    if template.startswith("/") or template.startswith("https://"):
        return template
    raise RowError(f"template={shown(template)} is not allowed: {LOCATION_HINT}")


def update_branches(clone_dir: Path) -> tuple[tuple[str, int], ...]:
    """The branches template-update/vX.Y.Z and the committer time (Unix seconds) of each tip."""
    listing = git(
        "for-each-ref",
        "--format=%(refname:lstrip=2) %(committerdate:unix)",
        f"refs/heads/{BRANCH_PREFIX}",
        cwd=clone_dir,
    )
    branches = []
    for line in listing.splitlines():
        name, _, when = line.partition(" ")
        if RELEASE_TAG.fullmatch(name.removeprefix(BRANCH_PREFIX)) and when.isdigit():
            branches.append((name, int(when)))
    return tuple(branches)


def read_repository(repository: str) -> Found:
    """Clone one repository into a temporary folder and read what it says; a problem goes into its row."""
    found = Found(Row(repository))
    with tempfile.TemporaryDirectory(prefix="fleet-report-") as directory:
        try:
            clone_dir = clone(repository, Path(directory))
            found.branches = update_branches(clone_dir)
            found.template = read_state(state_text(clone_dir), found.row)
        except RowError as err:
            found.row.error = str(err)
    return found


# --- A catalog export ----------------------------------------------------------------------------


def read_catalog(path: Path) -> list[Found]:
    """A row for each Component made from this template in a catalog export (JSON); Refused if it is none."""
    try:
        export = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise Refused(f"--catalog={shown(str(path))} is not allowed: a readable JSON file ({str(err)[:80]})") from err
    entities = export.get("items") if isinstance(export, dict) else export
    if not isinstance(entities, list):
        raise Refused(f"--catalog={shown(str(path))} is not allowed: a JSON array of entities, or an object with items")
    return [Found(row) for row in (catalog_row(number, entity) for number, entity in enumerate(entities)) if row]


def catalog_row(number: int, entity: object) -> Row | None:
    """The row of one catalog entity, or None when it is no Component of this template."""
    row = Row(f"entity #{number}")
    if not isinstance(entity, dict):
        row.error = "the entity is not a JSON object"
        return row
    metadata, spec = entity.get("metadata"), entity.get("spec")
    metadata = metadata if isinstance(metadata, dict) else {}
    annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
    source = annotations.get(SOURCE_TEMPLATE)
    if str(entity.get("kind")).lower() != "component" or not isinstance(source, str) or source.lower() != TEMPLATE_REF:
        return None
    try:
        row.slug = field(metadata, "name", RULES.SLUG, "metadata.name")
        namespace = field({"namespace": "default", **metadata}, "namespace", NAMESPACE, "metadata.namespace")
        row.repository = f"component:{namespace}/{row.slug}"
        row.owner = field(spec if isinstance(spec, dict) else {}, "owner", RULES.OWNER, "spec.owner")
        row.release = field(
            annotations, TEMPLATE_VERSION, RULES.TEMPLATE_VERSION, f"metadata.annotations.{TEMPLATE_VERSION}"
        )
    except RowError as err:
        row.error = str(err)
    return row


# --- The report ----------------------------------------------------------------------------------


def chosen_template(given: str | None, found: list[Found]) -> str:
    """The template to compare with: --template, or else the location most repositories name."""
    if given is not None:
        return given
    named = Counter(item.template for item in found if item.template is not None)
    if not named:
        raise Refused("no template location: no repository's .cruft.json names one; give --template")
    return named.most_common(1)[0][0]


def compare(found: Found, template: str, releases: list[str]) -> Row:
    """The row with the template's releases applied: behind, open update, last attempt; or its error."""
    row = found.row
    if found.branches:
        newest = max(when for _, when in found.branches)
        row.last_update_attempt = datetime.fromtimestamp(newest, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if row.error is not None or row.release is None:
        return row
    if found.template is not None and found.template != template:
        row.error = f"template={shown(found.template)} is not the template reported on ({shown(template)})"
    elif row.release not in releases:
        row.error = f"release {row.release} is not a release tag of {shown(template)}"
    else:
        current = release_number(row.release)
        row.behind = sum(1 for release in releases if release_number(release) > current)
        waiting = [name for name, _ in found.branches if release_number(name.removeprefix(BRANCH_PREFIX)[1:]) > current]
        row.open_update = max(
            waiting, key=lambda name: release_number(name.removeprefix(BRANCH_PREFIX)[1:]), default=None
        )
    return row


def cells(row: Row) -> list[str]:
    """A row's cells for the table: "-" where there is no value."""
    values = (row.slug, row.owner, row.release, row.behind, row.open_update, row.last_update_attempt)
    return ["-" if value is None else str(value) for value in values] + [row.repository, row.error or "-"]


def table(rows: list[Row]) -> str:
    """The rows as a plain-text table under a header, columns aligned, one line each."""
    lines = [list(HEADER)] + [cells(row) for row in rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(HEADER))]
    aligned = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines]
    return "".join(line.rstrip() + "\n" for line in aligned)


def report(arguments: argparse.Namespace) -> list[Row]:
    """Read every repository and the catalog export, then compare each with the template's releases."""
    found = read_catalog(arguments.catalog) if arguments.catalog is not None else []
    found = [read_repository(repository) for repository in arguments.repositories] + found
    template = chosen_template(arguments.template, found)
    releases = list_releases(template)
    return [compare(item, template, releases) for item in found]


def main(argv: list[str]) -> int:
    """Print the report; one line on stderr when an argument is refused or the template unreachable."""
    try:
        arguments = parse_arguments(argv)
        rows = report(arguments)
    except Refused as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return print_rows(rows, arguments.json)


def print_rows(rows: list[Row], as_json: bool) -> int:
    """Print the rows as a table or as JSON; 1 when a row holds an error."""
    if as_json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        sys.stdout.write(table(rows))
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
