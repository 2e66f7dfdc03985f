"""The fleet: each project's release in its catalog entry, and the platform team's report (scripts/fleet-report.py).

A git repository of the template is released as v1.0.0 and v1.1.0. Services are made from it by the
cookiecutter command line and by cruft (and, marker node, by Backstage's real fetch:cookiecutter
action), each committed in its own git repository and pushed to a bare `origin`: the repositories
the report reads. One service has an update branch pushed and never merged. The report gives each
its release, how many releases behind it is and its open update. Then v1.2.0 is cut, with an
`### Action required` part and a migration: every service runs `make template-update` (its request a
labelled draft that shows the Action required part first; the migration run after cruft, committed on
its own), the teams that merge do, and the report moves with them; the catalog
entries' release annotation moves on the update branches. A catalog export gives the same rows, and
so does https (git's http-backend behind a loopback TLS server). Controls: a .cruft.json that is
hostile or garbled is reported in its row (and the code it names never runs), a repository or
template that is not https or a local path is refused in one line, an untrusted certificate is
refused, catalog entities of other templates are left out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.backstage import Backstage, fetch_job, form_answers
from harness.git_https import git_https
from harness.project import GO_VERSION
from harness.repositories import (
    MIGRATION_NOTE,
    V1,
    V2,
    add_migration,
    commit_project,
    cut_release,
    git,
    made_by_cli,
    made_by_cruft,
    merge_update,
    release_repository,
    release_v2,
    template_update,
    with_origin,
)
from harness.template import TEMPLATE_DIR

REPORT = Path("scripts") / "fleet-report.py"
V1_1, V1_2 = "1.1.0", "1.2.0"
CHANGELOG_V1_1 = "## v1.1.0\n\n- handlers.go: nothing changes but the release.\n"
# v1.2.0's entry: where a release that needs a hand says so ("Action required"), the update's pull request quotes it.
ACTION = "- Move your own notes into MIGRATED.md, which this release's migration writes."
CHANGELOG_V1_2 = f"## v1.2.0\n\n### Action required\n\n{ACTION}\n\n### Changes\n\n- A migration notes the move.\n"
SOURCE_TEMPLATE, TEMPLATE_VERSION = "backstage.io/source-template", "backstage.io/template-version"
OWNER = "team-platform"

pytestmark = pytest.mark.slow


def report(template: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the template's own scripts/fleet-report.py, as its platform team does; the caller checks the outcome."""
    command = [sys.executable, str(template / REPORT), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def rows(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    """The JSON report's rows, by repository (its origin's name without .git, or the catalog entity)."""
    return {Path(row["repository"]).name.removesuffix(".git"): row for row in json.loads(result.stdout)}


def row(release: str | None, behind: int | None, open_update: str | None = None, **fields: Any) -> dict[str, Any]:
    """An expected row: a service of OWNER at a release, its lag and open update, then any other field."""
    return {"owner": OWNER, "release": release, "behind": behind, "open_update": open_update} | fields


def seen(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The actual row's fields that an expected row names."""
    return {key: actual[key] for key in expected}


def tip_date(project: Path, branch: str) -> str:
    """The committer date of a branch's tip, in UTC, as the report writes it."""
    seconds = int(git(project, "log", "-1", "--format=%ct", branch))
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def component(project: Path, ref: str = "HEAD") -> dict[str, Any]:
    """The Component of the project's catalog-info.yaml at a ref."""
    first, *_ = yaml.safe_load_all(git(project, "show", f"{ref}:catalog-info.yaml"))
    return first


def update(project: Path, release: str, report: Path | None = None) -> str:
    """Run `make template-update` from main, push its branch to origin, check its catalog entry moved; the branch.

    With report, the pull request's text is written there.
    """
    git(project, "switch", "--quiet", "main")
    before = component(project)["metadata"]["annotations"][TEMPLATE_VERSION]
    result = template_update(project, report)
    branch = f"template-update/v{release}"
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(project, "branch", "--show-current").strip() == branch
    assert before != release
    assert component(project)["metadata"]["annotations"][TEMPLATE_VERSION] == release
    git(project, "push", "--quiet", "origin", branch)
    git(project, "switch", "--quiet", "main")
    return branch


def garbled(directory: Path, text: str, origins: Path) -> Path:
    """A repository whose .cruft.json holds the text, pushed to its origin."""
    directory.mkdir(parents=True)
    (directory / ".cruft.json").write_text(text, encoding="utf-8")
    commit_project(directory, "A .cruft.json of its own")
    return with_origin(directory, origins)


def service(maker: Any, template: Path, tmp_path: Path, slug: str) -> tuple[Path, Path]:
    """A service made by the maker at the template's current release, committed and pushed: (clone, origin)."""
    project = maker(template, tmp_path / "projects", {"project_slug": slug, "go_version": GO_VERSION, "owner": OWNER})
    return project, with_origin(project, tmp_path / "origins")


# --- The catalog entry carries the release, and it moves with make template-update ----------------


def test_template_update_moves_the_release_in_catalog_info(released_template: Path, tmp_path: Path) -> None:
    """From v1 to v2, the update branch's catalog-info.yaml changes the release annotation and nothing else."""
    project = made_by_cli(released_template, tmp_path / "projects", {"project_slug": "alpha", "go_version": GO_VERSION})
    release_v2(released_template)
    assert template_update(project).returncode == 0
    assert component(project, "main")["metadata"]["annotations"][TEMPLATE_VERSION] == V1
    assert component(project)["metadata"]["annotations"][TEMPLATE_VERSION] == V2
    diff = git(project, "diff", "--unified=0", "main", "HEAD", "--", "catalog-info.yaml").splitlines()
    changes = [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changes == [f'-    {TEMPLATE_VERSION}: "{V1}"', f'+    {TEMPLATE_VERSION}: "{V2}"']
    assert (
        component(project)["metadata"]["annotations"][SOURCE_TEMPLATE] == component(project)["spec"]["scaffoldedFrom"]
    )


def test_report_names_the_template_that_catalog_info_names() -> None:
    """The report picks catalog entities by the reference the skeleton writes, and that is template.yaml's Template."""
    name = yaml.safe_load((TEMPLATE_DIR / "template.yaml").read_text(encoding="utf-8"))["metadata"]["name"]
    skeleton = (TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "catalog-info.yaml").read_text(encoding="utf-8")
    script = (TEMPLATE_DIR / REPORT).read_text(encoding="utf-8")
    assert f'{SOURCE_TEMPLATE}: "template:default/{name}"' in skeleton
    assert f'scaffoldedFrom: "template:default/{name}"' in skeleton
    assert f'TEMPLATE_REF = "template:default/{name}"' in script


# --- The report on a fleet, before and after a release ---------------------------------------------


def test_fleet_report_follows_releases_and_updates(released_template: Path, tmp_path: Path) -> None:
    """Each service's release, lag and open update; after v1.2.0 and the updates, the merged ones catch up."""
    template, origins = released_template, tmp_path / "origins"
    alpha, alpha_origin = service(made_by_cli, template, tmp_path, "alpha")  # its team merges updates
    charlie, charlie_origin = service(made_by_cli, template, tmp_path, "charlie")  # its update waits for review
    cut_release(template, V1, V1_1, CHANGELOG_V1_1)
    bravo, bravo_origin = service(made_by_cruft, template, tmp_path, "bravo")  # made at v1.1.0
    stuck = update(charlie, V1_1)
    marker = tmp_path / "hostile-ran"
    hostile = {
        "template": f"ext::sh -c touch% {marker}",
        "context": {"cookiecutter": {"project_slug": "delta", "owner": OWNER, "version": V1}},
    }
    delta_origin = garbled(tmp_path / "delta", json.dumps(hostile), origins)
    fleet = [str(path) for path in (alpha_origin, bravo_origin, charlie_origin, delta_origin)]

    # The template's location is the one the services' .cruft.json name; delta's is refused in its row.
    before = report(template, "--json", *fleet)
    assert before.returncode == 1, before.stderr
    found = rows(before)
    expected = {
        "alpha": row(V1, 1, slug="alpha", last_update_attempt=None, error=None),
        "bravo": row(V1_1, 0, slug="bravo", last_update_attempt=None, error=None),
        "charlie": row(V1, 1, stuck, slug="charlie", last_update_attempt=tip_date(charlie, stuck), error=None),
    }
    assert {name: seen(found[name], fields) for name, fields in expected.items()} == expected
    assert found["delta"]["error"].startswith('template="ext::sh -c touch% ')
    assert found["delta"]["error"].endswith(" is not allowed")
    assert (found["delta"]["behind"], found["delta"]["slug"]) == (None, "delta")
    assert not marker.exists()

    header, *lines = report(template, *fleet).stdout.splitlines()
    assert header.split()[:4] == ["SLUG", "OWNER", "RELEASE", "BEHIND"]
    assert [line.split()[:5] for line in lines[:3]] == [
        ["alpha", OWNER, V1, "1", "-"],
        ["bravo", OWNER, V1_1, "0", "-"],
        ["charlie", OWNER, V1, "1", stuck],
    ]

    # v1.2.0 asks for work by hand and carries a migration: every service updates; alpha's and bravo's
    # teams merge, charlie's does not.
    add_migration(template, V1_2)
    cut_release(template, V1_1, V1_2, CHANGELOG_V1_2)
    for project in (alpha, bravo):
        merge_update(project, update(project, V1_2))
    request = tmp_path / "charlie-request.md"
    branch = update(charlie, V1_2, request)
    # The pull request opens as a labelled draft whose first part is what v1.2.0 asks, box to tick.
    marker, title, *rest = request.read_text(encoding="utf-8").splitlines()
    assert marker == "<!-- template-update: draft=yes action-required=yes -->"
    assert title.startswith(f"Template release v{V1_2} (this project was at v{V1})"), title
    headings = [line for line in rest if line.startswith("## ")]
    assert headings[:2] == ["## Action required", "## What changes (CHANGELOG)"], headings
    assert rest.index(f"> {ACTION}") < rest.index("## What changes (CHANGELOG)")
    # The migration ran after cruft, on the branch, in a commit of its own, for each service from its release.
    for project, since in ((alpha, V1), (bravo, V1_1), (charlie, V1)):
        ref = "main" if project is not charlie else branch
        note = git(project, "show", f"{ref}:{MIGRATION_NOTE}")
        assert note == f"# Migrated\n\nFrom v{since} to v{V1_2}.\n", (project.name, note)
    assert MIGRATION_NOTE in git(charlie, "show", "--name-only", "--format=", branch).split()
    assert MIGRATION_NOTE not in git(charlie, "show", "--name-only", "--format=", f"{branch}~1").split()
    assert component(bravo, "main")["metadata"]["annotations"][TEMPLATE_VERSION] == V1_2

    after = report(template, "--json", "--template", str(template), *fleet)
    assert after.returncode == 1, after.stderr
    found = rows(after)
    expected = {
        "alpha": row(V1_2, 0, None, last_update_attempt=tip_date(alpha, branch)),  # merged
        "bravo": row(V1_2, 0, None, last_update_attempt=tip_date(bravo, branch)),  # merged
        "charlie": row(V1, 2, branch, last_update_attempt=tip_date(charlie, branch)),  # the newest of two, waiting
    }
    assert {name: seen(found[name], fields) for name, fields in expected.items()} == expected
    assert found["delta"]["error"] is not None

    # The same fleet as Backstage's catalog holds it: the Components' entries as registered, one of another template.
    entities = [component(project, "main") for project in (alpha, charlie)]
    entities[1]["metadata"]["namespace"] = "payments"
    other = component(bravo, "main")
    other["metadata"]["annotations"][SOURCE_TEMPLATE] = "template:default/another-template"
    catalog = tmp_path / "entities.json"
    catalog.write_text(json.dumps([*entities, other, "not an entity"]), encoding="utf-8")
    exported = report(template, "--json", "--template", str(template), "--catalog", str(catalog))
    assert exported.returncode == 1, exported.stderr
    found = rows(exported)
    assert sorted(found) == ["alpha", "charlie", "entity #3"]  # component:default/<name>, by name
    assert seen(found["alpha"], row(V1_2, 0)) == row(V1_2, 0)
    in_payments = row(V1, 2, repository="component:payments/charlie")
    assert seen(found["charlie"], in_payments) == in_payments
    assert found["entity #3"]["error"] == "the entity is not a JSON object"


@pytest.mark.node
def test_backstage_made_service_is_in_the_report(backstage: Backstage, released_template: Path, tmp_path: Path) -> None:
    """A service made by Backstage's fetch:cookiecutter action is reported like the others, before and after."""
    form = released_template / "template.yaml"
    answers = form_answers(form, project_slug="echo", go_version=GO_VERSION, owner=OWNER)
    project = backstage.fetch(fetch_job(tmp_path / "backstage", answers, template=form)).project
    echo = project.parent / "echo"
    project.rename(echo)
    commit_project(echo, "Generated by Backstage")
    origin = str(with_origin(echo, tmp_path / "origins"))
    assert component(echo)["metadata"]["annotations"][TEMPLATE_VERSION] == V1
    cut_release(released_template, V1, V1_1, CHANGELOG_V1_1)

    before = report(released_template, "--json", origin)
    assert before.returncode == 0, before.stderr
    assert seen(rows(before)["echo"], row(V1, 1, slug="echo")) == row(V1, 1, slug="echo")

    merge_update(echo, update(echo, V1_1))
    after = report(released_template, "--json", origin)
    assert after.returncode == 0, after.stderr
    assert seen(rows(after)["echo"], row(V1_1, 0)) == row(V1_1, 0)


def test_fleet_report_reads_https_repositories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over https, as a platform team reaches its services and template: tags, branches' tips, the template's URL.

    The template's fixed location is its https URL, so the service's own `make template-update` goes there too.
    Control: without the server's certificate git refuses the connection, and the report says so in one line.
    """
    with git_https(tmp_path, tmp_path) as server:  # every repository under tmp_path, at its path
        monkeypatch.setenv("GIT_SSL_CAINFO", str(server.ca_file))
        template = release_repository(tmp_path, f"{server.url}/template")
        charlie, _ = service(made_by_cli, template, tmp_path, "charlie")
        cut_release(template, V1, V1_1, CHANGELOG_V1_1)
        stuck = update(charlie, V1_1)
        repository = f"{server.url}/origins/charlie.git"
        trusted = report(template, "--json", repository)
        monkeypatch.delenv("GIT_SSL_CAINFO")
        untrusted = report(template, "--json", "--template", f"{server.url}/template", repository)
    assert trusted.returncode == 0, trusted.stderr
    expected = row(V1, 1, stuck, repository=repository, last_update_attempt=tip_date(charlie, stuck))
    assert seen(rows(trusted)["charlie"], expected) == expected
    assert (untrusted.returncode, untrusted.stdout) == (2, "")
    (line,) = untrusted.stderr.splitlines()
    assert line.startswith(f'error: template="{server.url}/template": git ls-remote failed: '), line
    assert "certificate" in line, line


# --- Controls: untrusted repository content, and arguments ------------------------------------------

GARBLED = {
    "not-json": ("{", ".cruft.json is not JSON: "),
    "not-an-object": ("[1, 2]", ".cruft.json is not cruft's: no context.cookiecutter object"),
    "release-not-text": (
        json.dumps({"template": "/x", "context": {"cookiecutter": {"project_slug": "x", "owner": "o", "version": 1}}}),
        "context.cookiecutter.version=1 is not allowed",
    ),
    "slug-with-escapes": (
        json.dumps({"context": {"cookiecutter": {"project_slug": "x\u001b[31m", "owner": "o", "version": "1.0.0"}}}),
        'context.cookiecutter.project_slug="x\\u001b[31m" is not allowed',
    ),
    "deep-nesting": ("[" * 100_000 + "]" * 100_000, ".cruft.json is not JSON: "),
    "too-big": (" " * 1_000_001 + "{}", ".cruft.json is 1000003 bytes, more than 1000000"),
}


def test_garbled_state_is_reported_in_its_row(released_template: Path, tmp_path: Path) -> None:
    """Each garbled .cruft.json gives its row an error naming the problem; the other rows and the report stand."""
    origins = tmp_path / "origins"
    fleet = [str(garbled(tmp_path / name, text, origins)) for name, (text, _) in GARBLED.items()]
    symlinked = tmp_path / "symlinked"
    symlinked.mkdir()
    (symlinked / ".cruft.json").symlink_to("/etc/passwd")
    commit_project(symlinked, "A symlink")
    fleet.append(str(with_origin(symlinked, origins)))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("no state\n", encoding="utf-8")
    commit_project(empty, "No .cruft.json")
    fleet.append(str(with_origin(empty, origins)))

    result = report(released_template, "--json", "--template", str(released_template), *fleet)
    assert result.returncode == 1, result.stderr
    found = rows(result)
    for name, (_, says) in GARBLED.items():
        assert found[name]["error"].startswith(says), (name, found[name]["error"])
        assert "\n" not in found[name]["error"]
    assert found["symlinked"]["error"] == ".cruft.json is not a regular file (mode 120000)"
    assert found["empty"]["error"] == ".cruft.json is missing on the default branch"


REFUSED = {
    "ssh-url": (["ssh://example.com/org/svc.git"], 'repository="ssh://example.com/org/svc.git" is not allowed'),
    "scp-like": (["git@github.com:org/svc.git"], 'repository="git@github.com:org/svc.git" is not allowed'),
    "http": (["http://example.com/org/svc.git"], 'repository="http://example.com/org/svc.git" is not allowed'),
    "file-url": (["file:///srv/svc.git"], 'repository="file:///srv/svc.git" is not allowed'),
    "ext": (["ext::sh -c touch% /tmp/x"], 'repository="ext::sh -c touch% /tmp/x" is not allowed'),
    "credentials": (["https://bot:secret@example.com/svc.git"], 'repository="https://***@example.com/svc.git" is not'),
    "missing-path": (["no/such/service"], 'repository="no/such/service" is not allowed'),
    "template-ssh": (["--template", "ssh://example.com/t.git", "."], '--template="ssh://example.com/t.git" is not'),
    "nothing": ([], "nothing to report on: give REPOSITORY arguments or --catalog"),
    "catalog-without-template": (["--catalog", "x.json"], "--catalog needs --template"),
    "unknown-option": (["--jsn", "."], "unrecognized arguments: --jsn"),
}


@pytest.mark.parametrize(("args", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_bad_arguments_are_refused_in_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    """A repository or template that is not https or a local path, or no source at all: exit 2, one line, no report."""
    scratch = tmp_path / "tmp"  # the report's temporary folders go here, this test's alone
    scratch.mkdir()
    result = subprocess.run(
        [sys.executable, str(TEMPLATE_DIR / REPORT), *args],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {says}"), line
    assert "secret" not in line
    assert list(scratch.iterdir()) == []
