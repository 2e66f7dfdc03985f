"""Template releases reach generated projects: `make template-update` and the .cruft.json it trusts.

A git repository of the template, released as v1.0.0 then v2.0.0 (which changes a file, adds one
and removes one), is made in each test. Projects made from v1 by the cookiecutter command line
by cruft and by Backstage's real fetch:cookiecutter action (marker node) carry a committed edit of their
own; `make template-update` brings exactly v2's change in on a branch, keeps the edit, and the
project still vets, tests and lints. A conflicting edit is reported by file; a .cruft.json that
points at other code (another commit, directory or template, or a URL with credentials) is
refused before cruft runs, and the hostile code it names never runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote_plus

import pytest

from harness.api_recorder import recording_api
from harness.backstage import Backstage, fetch_job, form_answers
from harness.project import GO_VERSION, bake_with
from harness.repositories import (
    ACTION_TEXT,
    ADDED_FILE,
    ADDED_TEXT,
    CHANGELOG_V2,
    CHANGELOG_V2_HOSTILE,
    HOSTILE_HTML,
    HOSTILE_MENTIONS,
    MIGRATION_NOTE,
    NEW_LINE,
    OLD_LINE,
    PATCH,
    PUSH_TOKEN,
    REMOVED_FILE,
    RULES_FILE,
    TEMPLATE_FILE,
    USER_NOTE,
    V1,
    V2,
    add_migration,
    add_user_note,
    commit_project,
    cruft,
    cruft_like_pipx,
    git,
    hostile_commit,
    made_by_cli,
    made_by_cruft,
    other_template,
    release_patch,
    release_v2,
    render_in_one_process,
    replace_in,
    set_release,
    tag,
    template_status,
    template_update,
    template_update_push,
)
from harness.tools import run

pytestmark = pytest.mark.slow

SLUG = "fleet-service"
ANSWERS = {"project_slug": SLUG, "go_version": GO_VERSION}
BRANCH = f"template-update/v{V2}"
MAKERS: dict[str, Callable[[Path, Path, dict[str, Any]], Path]] = {"cli": made_by_cli, "cruft": made_by_cruft}


def state(project: Path) -> dict[str, Any]:
    """The project's .cruft.json."""
    return json.loads((project / ".cruft.json").read_text(encoding="utf-8"))


def changed(project: Path, since: str) -> list[str]:
    """What the commits since a ref changed: git's status letter and path, sorted."""
    return sorted(git(project, "diff", "--name-status", since, "HEAD").splitlines())


def project_from_v1(maker: str, template: Path, tmp_path: Path, answers: dict[str, Any] | None = None) -> Path:
    """A project made from v1.0.0 in the given way, with the team's edit committed; then v2.0.0 is released."""
    project = MAKERS[maker](template, tmp_path / "projects", {**ANSWERS, **(answers or {})})
    add_user_note(project)
    release_v2(template)
    return project


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The command's own lines on stderr, without make's closing "make: *** ... Error N"."""
    return [line for line in result.stderr.splitlines() if not line.startswith("make: ")]


def say(result: subprocess.CompletedProcess[str]) -> str:
    """A command's whole output, for assertion messages."""
    return result.stdout + result.stderr


# --- Every project knows its origin -------------------------------------------------------------


def test_cli_project_records_its_origin_for_cruft(released_template: Path, tmp_path: Path) -> None:
    """A project made by the cookiecutter CLI has a .cruft.json naming the fixed location, v1.0.0 and the answers."""
    project = made_by_cli(released_template, tmp_path / "projects", ANSWERS)
    recorded = state(project)
    assert recorded["template"] == str(released_template)
    assert (recorded["commit"], recorded["checkout"], recorded["directory"]) == ("v1.0.0^{commit}", "v1.0.0", None)
    answers = recorded["context"]["cookiecutter"]
    assert (answers["project_slug"], answers["version"], answers["go_version"]) == (SLUG, "1.0.0", GO_VERSION)
    assert not [key for key in answers if key.startswith("_") and key != "_template"]  # no machine paths
    # Rendered without git, it names the release by its tag: cruft check is strict about SHAs until the first update.
    checked = cruft("check", "--not-strict", cwd=project)
    assert checked.returncode == 0, say(checked)
    release_v2(released_template)
    checked = cruft("check", "--not-strict", cwd=project)
    assert checked.returncode != 0
    assert "out of date" in say(checked)


def test_cruft_project_keeps_the_state_cruft_writes(released_template: Path, tmp_path: Path) -> None:
    """Under cruft create the template renders no .cruft.json of its own: cruft's state, with the commit, stays."""
    project = made_by_cruft(released_template, tmp_path / "projects", ANSWERS)
    recorded = state(project)
    assert recorded["commit"] == git(released_template, "rev-parse", "v1.0.0^{commit}").strip()
    assert recorded["context"]["cookiecutter"]["_template_location"] == str(released_template)


TEMPLATE_LOCATIONS = {
    "https": ("https://gitlab.example.com:8443/platform/go-scratch-service", True),
    "local-path": ("/srv/templates/go-scratch-service", True),
    "credentials": ("https://bot:glpat-secret@gitlab.example.com/platform/go-scratch-service", False),
    "query": ("https://github.com/org/go-scratch-service?ref=x", False),
    "ext-transport": ("ext::sh -c touch% /tmp/pwned", False),
    "ssh": ("git@github.com:org/go-scratch-service.git", False),
    "file-url": ("file:///srv/templates/go-scratch-service", False),
    "parent": ("/srv/templates/../go-scratch-service", False),
    "relative": ("templates/go-scratch-service", False),
}


@pytest.mark.parametrize(("location", "accepted"), TEMPLATE_LOCATIONS.values(), ids=TEMPLATE_LOCATIONS.keys())
def test_template_location_is_a_url_without_credentials(pre_gen: ModuleType, location: str, accepted: bool) -> None:
    """The hook accepts an https URL without credentials or an absolute path as _template_location, nothing else."""
    context = {**pre_gen.ANSWERS, "_template_location": location}
    if accepted:
        pre_gen.rules.check_private_keys(context)
        return
    with pytest.raises(pre_gen.InvalidAnswer, match=r"^_template_location=.* is not allowed: the template's own"):
        pre_gen.rules.check_private_keys(context)


def test_only_the_templates_own_location_is_accepted(pre_gen: ModuleType) -> None:
    """The hook's whole check accepts TEMPLATE_LOCATION alone: any other location, however well formed, is refused."""
    rules = pre_gen.rules
    pre_gen.rules.check_context({**pre_gen.ANSWERS, "_template_location": rules.TEMPLATE_LOCATION})  # control
    for location in ("https://gitlab.example.com/platform/go-scratch-service", f"{rules.TEMPLATE_LOCATION}/"):
        with pytest.raises(pre_gen.InvalidAnswer, match=r"^_template_location=.* is not allowed: the template's own"):
            rules.check_context({**pre_gen.ANSWERS, "_template_location": location})
    with pytest.raises(pre_gen.InvalidAnswer, match=r"^_template_location=null is not allowed"):
        rules.check_context({key: value for key, value in pre_gen.ANSWERS.items() if key != "_template_location"})


EVIL_LOCATION = "https://evil.example/tpl"
API_SCRIPT = """
import json, sys
from cookiecutter.main import cookiecutter
cookiecutter(sys.argv[1], no_input=True, output_dir=sys.argv[2], extra_context=json.loads(sys.argv[3]))
"""


def generate_with_location(way: str, template: Path, output: Path) -> subprocess.CompletedProcess[str]:
    """Generate a project from the template with _template_location=EVIL_LOCATION passed the given way."""
    answers = {"project_slug": SLUG, "go_version": GO_VERSION, "_template_location": EVIL_LOCATION}
    pairs = [f"{key}={value}" for key, value in answers.items()]
    commands = {
        "cli": [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output), str(template), *pairs],
        "cli-hooks-off": [
            *[sys.executable, "-m", "cookiecutter", "--no-input", "--accept-hooks", "no"],
            *["-o", str(output), str(template), *pairs],
        ],
        "python-api": [sys.executable, "-c", API_SCRIPT, str(template), str(output), json.dumps(answers)],
    }
    if way == "cruft":
        context = json.dumps(answers)
        return cruft("create", str(template), "--no-input", "--extra-context", context, "--output-dir", str(output),
                     cwd=output)  # fmt: skip
    return subprocess.run(commands[way], cwd=output, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("way", ["cli", "cli-hooks-off", "python-api", "cruft"])
def test_location_from_outside_is_refused_and_nothing_stays(released_template: Path, tmp_path: Path, way: str) -> None:
    """_template_location on the command line, in extra_context (Python API, cruft create), hooks off: refused."""
    output = tmp_path / "out"
    output.mkdir()
    result = generate_with_location(way, released_template, output)
    assert result.returncode != 0, say(result)
    refusal = (
        f'_template_location="{EVIL_LOCATION}" is not allowed: the template\'s own location, "{released_template}"'
    )
    assert refusal in say(result)
    if way == "cli":  # the hook's one line; cookiecutter's own FailedHookException lines carry no "error:"
        assert [line for line in result.stderr.splitlines() if line.startswith("error: ")] == [f"error: {refusal}"
            + " (TEMPLATE_LOCATION in hooks/rules.py): it is no answer, leave it out"]  # fmt: skip
    assert list(output.iterdir()) == []
    # Control: the same way without the planted location makes the project.
    made = tmp_path / "made"
    made.mkdir()
    if way != "cruft":
        run([sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(made), str(released_template),
             f"project_slug={SLUG}", f"go_version={GO_VERSION}"], cwd=made)  # fmt: skip
    else:
        made_by_cruft(released_template, made, ANSWERS)
    assert (made / SLUG / ".cruft.json").is_file()


def test_rendered_state_is_deterministic(released_template: Path, tmp_path: Path) -> None:
    """Two renders of the same answers write the same .cruft.json, byte for byte."""
    first = made_by_cli(released_template, tmp_path / "one", ANSWERS)
    second = made_by_cli(released_template, tmp_path / "two", ANSWERS)
    assert (first / ".cruft.json").read_bytes() == (second / ".cruft.json").read_bytes()


# --- make template-update -----------------------------------------------------------------------


def check_brings_exactly_v2(project: Path, template: Path, tmp_path: Path) -> None:
    """Run make template-update and check its branch: v2's change alone, the team's edit kept, vet/test/lint pass."""
    before = (project / TEMPLATE_FILE.name).read_text(encoding="utf-8")
    report = tmp_path / "report.md"

    updated = template_update(project, report)
    assert updated.returncode == 0, say(updated)
    assert f"updated from v1.0.0 to v{V2} on branch {BRANCH}" in updated.stdout
    assert git(project, "branch", "--show-current").strip() == BRANCH
    assert changed(project, "main") == [
        f"A\t{ADDED_FILE.name}",
        f"D\t{REMOVED_FILE.name}",
        "M\t.cruft.json",
        "M\tcatalog-info.yaml",  # it names the release
        f"M\t{TEMPLATE_FILE.name}",
    ]
    assert (project / TEMPLATE_FILE.name).read_text(encoding="utf-8") == before.replace(OLD_LINE, NEW_LINE)
    assert (project / ADDED_FILE.name).read_text(encoding="utf-8") == ADDED_TEXT
    assert (project / "README.md").read_text(encoding="utf-8").endswith(USER_NOTE)
    recorded = state(project)
    assert recorded["commit"] == git(template, "rev-parse", f"v{V2}^{{commit}}").strip()
    assert (recorded["checkout"], recorded["context"]["cookiecutter"]["version"]) == (f"v{V2}", V2)
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "rev-parse", "main").strip() == git(project, "rev-parse", "HEAD~1").strip()

    text = report.read_text(encoding="utf-8")
    assert f"Template release v{V2} (this project was at v1.0.0)" in text
    assert "\n".join(f"> {line}".rstrip() for line in CHANGELOG_V2.strip().splitlines()) in text
    assert "## Conflicts\n\nNone." in text

    run(["go", "vet", "./..."], cwd=project)
    run(["go", "test", "./..."], cwd=project)
    run(["make", "lint"], cwd=project)


# How the project was made from v1, and its answers: the hooks vendor the dependencies again on each render.
UPDATE_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "cli": ("cli", {}),
    "cruft": ("cruft", {}),
    "cli-vendoring-metrics-gitlab": ("cli", {"vendor_dependencies": True, "prometheus_metrics": True, "ci": "gitlab"}),
}


@pytest.mark.parametrize(("maker", "answers"), UPDATE_CASES.values(), ids=UPDATE_CASES.keys())
def test_template_update_brings_exactly_the_release(
    released_template: Path, tmp_path: Path, maker: str, answers: dict[str, Any]
) -> None:
    """On its own branch: v2's change, file changed, added and removed; the team's edit kept; go vet/test, make lint."""
    project = project_from_v1(maker, released_template, tmp_path, answers)
    check_brings_exactly_v2(project, released_template, tmp_path)


@pytest.mark.node
def test_backstage_project_updates_like_the_others(
    backstage: Backstage, released_template: Path, tmp_path: Path
) -> None:
    """A project made by Backstage's real fetch:cookiecutter action (no hooks) records its origin, updates alike."""
    form = released_template / "template.yaml"
    job = fetch_job(tmp_path / "backstage", form_answers(form, **ANSWERS), template=form)
    project = backstage.fetch(job).project
    recorded = state(project)
    assert (recorded["template"], recorded["commit"]) == (str(released_template), "v1.0.0^{commit}")
    assert recorded["context"]["cookiecutter"]["project_slug"] == SLUG
    commit_project(project, "Generated by Backstage")
    add_user_note(project)
    release_v2(released_template)
    check_brings_exactly_v2(project, released_template, tmp_path)


@pytest.mark.parametrize("maker", sorted(MAKERS))
def test_second_template_update_finds_nothing_to_do(released_template: Path, tmp_path: Path, maker: str) -> None:
    """Run again on the update branch, or back on main while the branch waits for review: nothing to do."""
    project = project_from_v1(maker, released_template, tmp_path)
    assert template_update(project).returncode == 0
    head = git(project, "rev-parse", "HEAD")

    again = template_update(project)
    assert again.returncode == 0, say(again)
    assert f"nothing to do: the project is at v{V2}" in again.stdout
    git(project, "switch", "--quiet", "main")
    waiting = template_update(project)
    assert waiting.returncode == 0, say(waiting)
    assert f"nothing to do: {BRANCH} exists already" in waiting.stdout
    assert git(project, "rev-parse", BRANCH) == head


def test_conflicting_edit_is_reported_by_file(released_template: Path, tmp_path: Path) -> None:
    """An edit of the line v2 changes: exit 1, one line naming the file, the report lists it, main untouched."""
    project = made_by_cli(released_template, tmp_path / "projects", ANSWERS)
    handlers = project / TEMPLATE_FILE.name
    handlers.write_text(handlers.read_text(encoding="utf-8").replace(OLD_LINE, "// serviceName: ours."), "utf-8")
    git(project, "commit", "--quiet", "--all", "-m", "Our comment")
    main = git(project, "rev-parse", "HEAD")
    release_v2(released_template)
    report = tmp_path / "report.md"

    updated = template_update(project, report)
    assert updated.returncode != 0
    assert errors(updated)[-1] == f"error: 1 conflict(s) with v{V2} to resolve: {TEMPLATE_FILE.name}"
    assert "Resolve these before merging" in report.read_text(encoding="utf-8")
    assert f"- `{TEMPLATE_FILE.name}`" in report.read_text(encoding="utf-8")
    assert git(project, "branch", "--show-current").strip() == BRANCH
    assert git(project, "rev-parse", "main") == main


def test_edit_beside_the_release_is_merged_and_listed(released_template: Path, tmp_path: Path) -> None:
    """An edit elsewhere in a file v2 changes merges cleanly (exit 0); the report lists the file for review."""
    project = made_by_cli(released_template, tmp_path / "projects", ANSWERS)
    handlers = project / TEMPLATE_FILE.name
    handlers.write_text(handlers.read_text(encoding="utf-8") + "\n// Owned by the platform team.\n", "utf-8")
    git(project, "commit", "--quiet", "--all", "-m", "Our note")
    release_v2(released_template)
    report = tmp_path / "report.md"

    updated = template_update(project, report)
    assert updated.returncode == 0, say(updated)
    text = handlers.read_text(encoding="utf-8")
    assert NEW_LINE in text
    assert text.endswith("// Owned by the platform team.\n")
    assert "## Conflicts\n\nNone." in report.read_text(encoding="utf-8")
    assert f"worth a look):\n- `{TEMPLATE_FILE.name}`\n" in report.read_text(encoding="utf-8")


def test_unclean_tree_is_refused(released_template: Path, tmp_path: Path) -> None:
    """Uncommitted changes: refused in one line, no branch made."""
    project = project_from_v1("cli", released_template, tmp_path)
    (project / "notes.txt").write_text("draft\n", encoding="utf-8")
    updated = template_update(project)
    assert updated.returncode != 0
    assert errors(updated) == ["error: the working tree has changes: commit or stash them first"]
    assert git(project, "branch", "--list", BRANCH) == ""


def test_failed_update_leaves_nothing_behind(released_template: Path, tmp_path: Path) -> None:
    """A tag cut without bumping the release: the hook refuses it, cruft fails, the branch goes, main is checked out."""
    project = made_by_cli(released_template, tmp_path / "projects", ANSWERS)
    replace_in(released_template / TEMPLATE_FILE, OLD_LINE, NEW_LINE)
    tag(released_template, V2)  # TEMPLATE_RELEASE still says 1.0.0
    updated = template_update(project)
    assert updated.returncode == 2, say(updated)
    assert errors(updated)[-1] == f"error: cruft update to v{V2} failed (exit 1)"
    assert f'error: version="{V2}" is not allowed: 1.0.0, the release being rendered' in updated.stderr
    assert git(project, "branch", "--show-current").strip() == "main"
    assert git(project, "branch", "--list", BRANCH) == ""
    assert git(project, "status", "--porcelain") == ""


# --- Each release renders with its own rules, whatever the process rendered before -----------------

# Quick to render: the previous release's bytecode passes for fresh when the next checkout lands in the same second.
QUICK = {**ANSWERS, "ci": "none", "kubernetes": False}


def test_patch_release_updates_with_bytecode_caches_on(released_template: Path, tmp_path: Path) -> None:
    """v1.0.0 to v1.0.1 (rules.py the same size) through a cruft like pipx's (-E), bytecode caches on: updated."""
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    release_patch(released_template)

    updated = template_update(project, pytools=cruft_like_pipx(tmp_path / "pytools", project), bytecode=True)
    assert updated.returncode == 0, say(updated)
    assert f"updated from v{V1} to v{PATCH} on branch template-update/v{PATCH}" in updated.stdout
    assert state(project)["context"]["cookiecutter"]["version"] == PATCH


def test_one_process_checks_each_release_with_its_own_rules(released_template: Path, tmp_path: Path) -> None:
    """As cruft does: v1.0.0 then v1.0.1 in one process and checkout, rules.py the same size and time: both render."""
    release_patch(released_template)
    releases = [(f"v{V1}", {**QUICK, "version": V1}), (f"v{PATCH}", {**QUICK, "version": PATCH})]

    assert render_in_one_process(released_template, tmp_path / "renders", releases) == [None, None]
    second = json.loads((tmp_path / "renders" / "1" / SLUG / ".cruft.json").read_text(encoding="utf-8"))
    assert second["context"]["cookiecutter"]["version"] == PATCH
    assert not (released_template / RULES_FILE.parent / "__pycache__").exists()  # no bytecode beside the rules


def test_one_process_sandboxes_each_release_with_its_own_rules(released_template: Path, tmp_path: Path) -> None:
    """The extension, imported once by the first render, refuses a slug in the words of each release's rules."""
    replace_in(released_template / RULES_FILE, 'SLUG_ALLOWED = "1-63', 'SLUG_ALLOWED = "(v2) 1-63')
    set_release(released_template, V1, V2)
    tag(released_template, V2)
    releases = [(f"v{V1}", {**QUICK, "project_slug": "a/b"}), (f"v{V2}", {**QUICK, "project_slug": "a/b"})]

    first, second = render_in_one_process(released_template, tmp_path / "renders", releases)
    assert first is not None
    assert second is not None
    assert 'project_slug="a/b" is not allowed: 1-63 lowercase' in first
    assert 'project_slug="a/b" is not allowed: (v2) 1-63 lowercase' in second


# --- .cruft.json is untrusted input --------------------------------------------------------------

HOSTILE: dict[str, Callable[[Path, Path], tuple[dict[str, Any], str]]] = {
    "old-commit": lambda template, marker: ({"commit": hostile_commit(template, marker)}, "commit="),
    "other-directory": lambda template, marker: (
        {"directory": "evil", "commit": hostile_commit(template, marker)},
        'directory="evil"',
    ),
    "other-template": lambda template, marker: (
        {"template": str(other_template(template, template.parent / "other", marker))},
        "template=",
    ),
    "credentials-in-url": lambda template, marker: (
        {"template": "https://bot:ghp_secret@github.com/org/go-scratch-service"},
        'template="https://***@github.com/org/go-scratch-service" is not allowed: an https:// URL',
    ),
    "checkout-of-no-release": lambda template, marker: ({"checkout": "hostile"}, 'checkout="hostile"'),
}


def plant(project: Path, values: dict[str, Any]) -> None:
    """Commit a .cruft.json with some of its values replaced, as a pull request could."""
    (project / ".cruft.json").write_text(json.dumps({**state(project), **values}, indent=2) + "\n", encoding="utf-8")
    git(project, "commit", "--quiet", "--all", "-m", "Planted .cruft.json")


@pytest.mark.parametrize("case", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_cruft_json_is_refused_before_cruft_runs(
    released_template: Path, tmp_path: Path, case: Callable[[Path, Path], tuple[dict[str, Any], str]]
) -> None:
    """Another commit, directory or template, a URL with credentials: one line, exit 2, the code never runs."""
    project = made_by_cli(released_template, tmp_path / "projects", ANSWERS)
    release_v2(released_template)
    marker = tmp_path / "marker"
    values, says = case(released_template, marker)
    plant(project, values)

    updated = template_update(project)
    assert updated.returncode == 2, say(updated)
    (line,) = errors(updated)
    assert line.startswith("error: ")
    assert says in line
    assert "is not allowed" in line
    assert "ghp_secret" not in say(updated)  # a refusal never prints a credential
    assert not marker.exists()
    assert git(project, "branch", "--list", BRANCH) == ""


@pytest.mark.parametrize("case", ["old-commit", "other-template"])
def test_hostile_cruft_json_runs_its_code_in_plain_cruft(released_template: Path, tmp_path: Path, case: str) -> None:
    """Control: the same planted values make a plain `cruft update` run the hostile hook (the marker appears)."""
    project = made_by_cli(released_template, tmp_path / "projects", ANSWERS)
    release_v2(released_template)
    marker = tmp_path / "marker"
    values, _ = HOSTILE[case](released_template, marker)
    plant(project, values)
    cruft("update", "--skip-apply-ask", cwd=project)
    assert marker.exists()


# .cruft.json of the wrong shape: each refused in one line, exit 2, never a traceback.
WRONG_SHAPES: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "top-level-list": (lambda recorded: [recorded], ".cruft.json is not allowed: a JSON object, not list"),
    "context-list": (lambda recorded: {**recorded, "context": []}, "context must be an object holding"),
    "context-missing": (
        lambda recorded: {k: v for k, v in recorded.items() if k != "context"},
        "context must be an object holding",
    ),
    "cookiecutter-list": (lambda recorded: {**recorded, "context": {"cookiecutter": []}}, "context must be an object"),
    "template-number": (lambda recorded: {**recorded, "template": 5}, "template=5 is not allowed"),
    "checkout-list": (lambda recorded: {**recorded, "checkout": ["v2.0.0"]}, 'checkout=["v2.0.0"] is not allowed'),
    "commit-object": (lambda recorded: {**recorded, "commit": {"sha": "x"}}, 'commit={"sha": "x"} is not allowed'),
}


@pytest.mark.parametrize("case", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_cruft_json_of_the_wrong_shape_is_refused_in_one_line(
    released_template: Path, tmp_path: Path, case: tuple[Callable[[dict[str, Any]], Any], str]
) -> None:
    """A list for the whole file, the context or the answers, a number for the template: exit 2, one line."""
    reshape, says = case
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    release_patch(released_template)
    (project / ".cruft.json").write_text(json.dumps(reshape(state(project))), encoding="utf-8")
    git(project, "commit", "--quiet", "--all", "-m", "Reshaped .cruft.json")

    updated = template_update(project)
    assert updated.returncode == 2, say(updated)
    (line,) = errors(updated)
    assert line.startswith("error: ")
    assert says in line
    assert "Traceback" not in say(updated)
    assert git(project, "branch", "--list", "template-update/*") == ""
    status = template_status(project)
    assert (status.returncode, errors(status)) == (2, [line])


# --- An update branch that exists already -------------------------------------------------------


def test_branch_made_from_the_base_with_other_content_is_refused(released_template: Path, tmp_path: Path) -> None:
    """template-update/v2.0.0 made from main with other content: exit 2 in one line, never 'nothing to do'."""
    project = project_from_v1("cli", released_template, tmp_path)
    main = git(project, "rev-parse", "main").strip()
    git(project, "switch", "--quiet", "--create", BRANCH)
    (project / "planted.txt").write_text("not the release\n", encoding="utf-8")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "Planted")
    planted = git(project, "rev-parse", "HEAD")
    git(project, "switch", "--quiet", "main")

    updated = template_update(project)
    assert updated.returncode == 2, say(updated)
    assert errors(updated) == [
        f"error: {BRANCH} exists but is not the update to v{V2}: its first commit after {main[:12]} differs from "
        f"what v{V2} gives there; review it, then delete it to redo the update"
    ]
    assert "nothing to do" not in updated.stdout
    assert git(project, "rev-parse", BRANCH) == planted  # left as it was
    assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 1  # the throwaway one is gone
    assert (git(project, "branch", "--show-current").strip(), git(project, "status", "--porcelain")) == ("main", "")
    # The same branch with nothing on it (made from main and pushed as it is): refused too.
    git(project, "branch", "--force", BRANCH, "main")
    assert errors(template_update(project)) == [
        f"error: {BRANCH} exists but holds no commit on this branch: delete it to redo the update"
    ]


def test_branch_on_the_remote_with_other_content_is_refused(released_template: Path, tmp_path: Path) -> None:
    """Only on the remote (origin/template-update/v2.0.0, fetched), other content: refused, no local branch made."""
    project = project_from_v1("cli", released_template, tmp_path)
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(project), str(remote))
    git(project, "remote", "add", "origin", str(remote))
    planter = tmp_path / "planter"
    git(tmp_path, "clone", "--quiet", str(remote), str(planter))
    git(planter, "switch", "--quiet", "--create", BRANCH)
    replace_in(planter / TEMPLATE_FILE.name, OLD_LINE, NEW_LINE)  # part of the release, not all of it
    git(planter, "commit", "--quiet", "--all", "-m", "Half an update")
    git(planter, "push", "--quiet", "origin", BRANCH)
    git(project, "fetch", "--quiet", "origin")

    updated = template_update(project)
    assert updated.returncode == 2, say(updated)
    (line,) = errors(updated)
    assert line.startswith(f"error: origin/{BRANCH} exists but is not the update to v{V2}")
    assert git(project, "branch", "--list", BRANCH) == ""


def test_branch_with_the_update_and_the_teams_commits_is_nothing_to_do(released_template: Path, tmp_path: Path) -> None:
    """The update branch with conflicts the team resolved on top, main moved on since: still 'nothing to do'."""
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    handlers = project / TEMPLATE_FILE.name
    handlers.write_text(handlers.read_text(encoding="utf-8").replace(OLD_LINE, "// serviceName: ours."), "utf-8")
    git(project, "commit", "--quiet", "--all", "-m", "Our comment")
    release_v2(released_template)
    conflicted = template_update(project)  # a conflict, committed on the branch for review
    assert errors(conflicted)[-1] == f"error: 1 conflict(s) with v{V2} to resolve: {TEMPLATE_FILE.name}"
    assert "<<<<<<<" in handlers.read_text(encoding="utf-8")
    handlers.write_text(re.sub(r"<<<<<<<.*?>>>>>>>[^\n]*\n", NEW_LINE + "\n", handlers.read_text("utf-8"), flags=re.S))
    git(project, "commit", "--quiet", "--all", "-m", "Resolved")
    git(project, "switch", "--quiet", "main")
    add_user_note(project)  # main moves on while the branch waits

    waiting = template_update(project)
    assert waiting.returncode == 0, say(waiting)
    assert f"nothing to do: {BRANCH} exists already" in waiting.stdout
    assert git(project, "branch", "--show-current").strip() == "main"


# --- The pull request's text: CHANGELOG as text, Action required first ------------------------------

# A mention where GitHub or GitLab would notify: @ not after a letter, digit or backtick.
LIVE_MENTION = re.compile(r"(?<![\w`@])@[A-Za-z0-9]")


def outside_code(markdown: str) -> str:
    """Markdown without its code spans (which render as text)."""
    return re.sub(r"(`+)[^`]*?\1(?!`)", "", markdown)


def check_inert(text: str) -> None:
    """No raw HTML, image or live mention in the text outside code spans; the hostile text shows escaped."""
    prose = outside_code(text)
    assert "<" not in prose, prose
    assert ">" not in re.sub(r"^>", "", prose, flags=re.MULTILINE), prose  # but the quote's own markers
    assert LIVE_MENTION.findall(prose) == [], prose
    assert "&lt;img src=&quot;" not in text  # quotes stay as they are: only < > & change
    assert '&lt;img src="https://evil.example/t.png"&gt;' in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert all(f"`{mention}`" in text for mention in HOSTILE_MENTIONS)
    assert "ops@example.com" in text  # an address is no mention
    assert "`<b>` and `@alice`" in text  # code spans as written


def test_hostile_changelog_reaches_the_report_as_text(released_template: Path, tmp_path: Path) -> None:
    """HTML, images and mentions in the CHANGELOG: escaped in the report; Action required first, as a draft."""
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    release_v2(released_template, CHANGELOG_V2_HOSTILE)
    report = tmp_path / "report.md"
    assert template_update(project, report).returncode == 0
    marker, text = report.read_text(encoding="utf-8").split("\n", 1)

    # Control: the CHANGELOG itself holds what the report must not.
    assert all(html in CHANGELOG_V2_HOSTILE for html in HOSTILE_HTML)
    assert len(LIVE_MENTION.findall(outside_code(CHANGELOG_V2_HOSTILE))) == len(HOSTILE_MENTIONS)
    check_inert(text)
    assert marker == "<!-- template-update: draft=yes action-required=yes -->"
    action, changes = text.index("## Action required"), text.index("## What changes")
    assert action < text.index(f"> {ACTION_TEXT}") < changes
    assert "- [ ] I have done what *Action required* asks" in text[action:changes]
    assert ACTION_TEXT not in text[changes:]  # shown once, first
    # The commit message is the same text, without the marker line.
    assert git(project, "log", "-1", "--format=%b").strip() == text.strip()


def test_patch_release_is_no_draft(released_template: Path, tmp_path: Path) -> None:
    """A PATCH release without Action required: no such section, draft=no, action-required=no."""
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    release_patch(released_template)
    report = tmp_path / "report.md"
    assert template_update(project, report).returncode == 0
    marker, text = report.read_text(encoding="utf-8").split("\n", 1)
    assert marker == "<!-- template-update: draft=no action-required=no -->"
    assert "## Action required" not in text


def test_major_release_without_action_part_is_a_draft(released_template: Path, tmp_path: Path) -> None:
    """A MAJOR release whose entry has no Action required part: still a draft with the box, no label."""
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    release_v2(released_template)
    report = tmp_path / "report.md"
    assert template_update(project, report).returncode == 0
    marker, text = report.read_text(encoding="utf-8").split("\n", 1)
    assert marker == "<!-- template-update: draft=yes action-required=no -->"
    assert f"This pull request is a draft: v{V2} is a MAJOR release." in text


# --- CI's push job, run by hand against a loopback API ------------------------------------------------


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_push_sends_the_escaped_text_as_a_labelled_draft(released_template: Path, tmp_path: Path, ci: str) -> None:
    """What the push script sends for a release with Action required and hostile text: a draft, labelled, inert."""
    project = made_by_cli(released_template, tmp_path / "projects", {**QUICK, "ci": ci})
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(project), str(remote))
    release_v2(released_template, CHANGELOG_V2_HOSTILE)
    bundle, report = tmp_path / "handed" / "update.bundle", tmp_path / "handed" / "report.md"
    assert template_update(project, report, bundle=bundle).returncode == 0
    git(project, "switch", "--quiet", "main")

    with recording_api() as api:
        pushed = template_update_push(ci, project, remote, api.url, bundle, report)
    assert pushed.returncode == 0, say(pushed)
    assert "(draft: yes, labels: template-update,action-required)" in pushed.stdout
    if ci == "github":
        pull, labels = api.requests
        assert (pull.path, labels.path) == ("/repos/example/project/pulls", "/repos/example/project/issues/1/labels")
        sent = json.loads(pull.body)
        assert (sent["draft"], sent["title"]) == (True, f"Template release v{V2}")
        assert json.loads(labels.body) == {"labels": ["template-update", "action-required"]}
        assert labels.headers["Authorization"] == f"Bearer {PUSH_TOKEN}"
        body = sent["body"]
    else:
        (request,) = api.requests
        form = dict(pair.split("=", 1) for pair in request.body.split("&"))
        sent = {key: unquote_plus(value) for key, value in form.items()}
        assert sent["title"] == f"Draft: Template release v{V2}"
        assert sent["labels"] == "template-update,action-required"
        body = sent["description"]
    assert not body.startswith("<!--")  # the marker line stays behind
    check_inert(body)


def patch_update_handed_on(released_template: Path, tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """A project with a remote, a PATCH release and its update written for the push job: its paths."""
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(project), str(remote))
    release_patch(released_template)
    bundle, report = tmp_path / "handed" / "update.bundle", tmp_path / "handed" / "report.md"
    assert template_update(project, report, bundle=bundle).returncode == 0
    git(project, "switch", "--quiet", "main")
    return project, remote, bundle, report


def test_push_of_a_patch_release_is_ready_with_one_label(released_template: Path, tmp_path: Path) -> None:
    """Control: a PATCH release opens as a ready pull request, labelled template-update only."""
    project, remote, bundle, report = patch_update_handed_on(released_template, tmp_path)
    with recording_api() as api:
        assert template_update_push("github", project, remote, api.url, bundle, report).returncode == 0
    pull, labels = api.requests
    assert json.loads(pull.body)["draft"] is False
    assert json.loads(labels.body) == {"labels": ["template-update"]}


def test_push_refuses_a_report_without_the_marker(released_template: Path, tmp_path: Path) -> None:
    """A report whose first line is not make template-update's: refused in one line, nothing pushed or sent."""
    project, remote, bundle, report = patch_update_handed_on(released_template, tmp_path)
    report.write_text(report.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    with recording_api() as api:
        pushed = template_update_push("github", project, remote, api.url, bundle, report)
    assert pushed.returncode == 2
    assert errors(pushed) == [
        "error: the report is not allowed: its first line must be make template-update's "
        "<!-- template-update: ... --> line"
    ]
    assert api.requests == []
    assert git(remote, "branch", "--list", "template-update/*") == ""


# --- make template-status ---------------------------------------------------------------------


def test_template_status_behind_then_with_branch_then_up_to_date(released_template: Path, tmp_path: Path) -> None:
    """At v1 with v2 (Action required) out; then with the update branch waiting; then on it: at the newest."""
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    current = json.loads(template_status(project, "template-status-json").stdout)
    assert (current["release"], current["newest"], current["behind"], current["changelog"]) == (
        "v1.0.0",
        "v1.0.0",
        0,
        [],
    )
    release_v2(released_template, CHANGELOG_V2_HOSTILE)

    behind = template_status(project)
    assert behind.returncode == 0, say(behind)
    lines = behind.stdout.splitlines()
    assert lines[:4] == [
        f"template: {released_template}",
        "release:  v1.0.0",
        f"newest:   v{V2} (1 release(s) behind, MAJOR and action required)",
        "update branch: none yet (make template-update)",
    ]
    assert "## v2.0.0" in lines
    assert ACTION_TEXT in lines
    assert "\x1b" not in behind.stdout  # the CHANGELOG's escape sequence reaches no terminal
    assert "- Colours stay ?[31mplain?[0m." in lines
    facts = json.loads(template_status(project, "template-status-json").stdout)
    assert sorted(facts) == sorted(
        ["template", "release", "newest", "behind", "major", "action_required", "changelog", "update_branch"]
    )
    assert (facts["behind"], facts["major"], facts["action_required"], facts["update_branch"]) == (1, True, True, None)
    (entry,) = facts["changelog"]
    assert (entry["release"], entry["action_required"]) == (f"v{V2}", ACTION_TEXT)
    assert entry["text"].startswith("## v2.0.0\n\n- handlers.go")  # as written: JSON is for machines

    assert template_update(project).returncode == 0
    git(project, "switch", "--quiet", "main")
    waiting = json.loads(template_status(project, "template-status-json").stdout)
    assert waiting["update_branch"] == {"name": BRANCH, "refs": [BRANCH]}
    assert f"update branch: {BRANCH}" in template_status(project).stdout

    git(project, "switch", "--quiet", BRANCH)
    done = template_status(project)
    assert done.stdout.splitlines()[1:] == [f"release:  v{V2}", f"newest:   v{V2} (up to date)"]
    assert git(project, "status", "--porcelain") == ""  # status changes nothing


# --- CODEOWNERS: the owner answer asks for review of every pull request, template updates included ---

CODEOWNER_CASES: dict[str, tuple[dict[str, str], str, str]] = {
    "github-default": ({"ci": "github"}, ".github/CODEOWNERS", "* @example/team-platform"),
    "github-group-ref": (
        {"ci": "github", "owner": "group:default/Team-Payments", "module_path": "github.com/acme/payments"},
        ".github/CODEOWNERS",
        "* @acme/team-payments",
    ),
    "github-user": ({"ci": "github", "owner": "user:default/alice"}, ".github/CODEOWNERS", "* @alice"),
    "github-no-org": (
        {"ci": "github", "module_path": "example.com/payments"},
        ".github/CODEOWNERS",
        "* @team-platform",
    ),
    "gitlab-subgroups": (
        {"ci": "gitlab", "owner": "group:team-payments", "module_path": "gitlab.example.com/acme/pay/payments"},
        ".gitlab/CODEOWNERS",
        "* @acme/team-payments",
    ),
}


@pytest.mark.parametrize(("answers", "path", "rule"), CODEOWNER_CASES.values(), ids=CODEOWNER_CASES.keys())
def test_codeowners_names_the_owner_where_the_platform_reads_it(
    cookies: Any, answers: dict[str, str], path: str, rule: str
) -> None:
    """GitHub reads .github/CODEOWNERS, GitLab .gitlab/CODEOWNERS: one rule, the owner as a handle; no other file."""
    project = bake_with(cookies, answers)
    files = {str(p.relative_to(project)) for p in project.rglob("CODEOWNERS")}
    assert files == {path}
    lines = (project / path).read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if not line.startswith("#")] == [rule]
    assert all(len(line) <= 100 for line in lines)


def test_no_codeowners_without_ci(cookies: Any) -> None:
    """ci=none names no platform, so no CODEOWNERS file: no folder is left for it either."""
    project = bake_with(cookies, {"ci": "none"})
    assert list(project.rglob("CODEOWNERS")) == []
    assert not (project / ".gitlab").exists()


# --- A release's migration, run after cruft on the update branch -------------------------------------


def test_release_migration_runs_after_cruft_and_is_committed_on_its_own(
    released_template: Path, tmp_path: Path
) -> None:
    """release-migrations/v2.0.0 runs in the project after cruft; its change is the branch's second commit."""
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    add_migration(released_template, V2)
    release_v2(released_template)
    report = tmp_path / "report.md"

    updated = template_update(project, report)
    assert updated.returncode == 0, say(updated)
    assert git(project, "log", "--format=%s", "main..HEAD").splitlines() == [
        f"Template release v{V2}: migrations",
        f"Template release v{V2}",
    ]
    assert git(project, "diff", "--name-status", "HEAD~1", "HEAD").splitlines() == [f"A\t{MIGRATION_NOTE}"]
    assert (project / MIGRATION_NOTE).read_text(encoding="utf-8") == f"# Migrated\n\nFrom v1.0.0 to v{V2}.\n"
    assert f"## Migrations\n\nRun after the update, committed on their own: release-migrations/v{V2}." in (
        report.read_text(encoding="utf-8")
    )
    assert not (project / "release-migrations").exists()  # the template's, never the project's
    # The branch with its migration commit on top still holds the update: nothing to do.
    git(project, "switch", "--quiet", "main")
    assert f"nothing to do: {BRANCH} exists already" in template_update(project).stdout


def test_migration_of_an_older_release_is_not_run_again(released_template: Path, tmp_path: Path) -> None:
    """Control: a project at v1.0.1 does not run v1.0.1's migration on its way to v2.0.0, only v2.0.0's."""
    add_migration(released_template, PATCH, "#!/bin/sh\nexit 9\n")
    release_patch(released_template)
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    add_migration(released_template, V2)
    release_v2(released_template, previous=PATCH)

    updated = template_update(project)
    assert updated.returncode == 0, say(updated)
    assert (project / MIGRATION_NOTE).read_text(encoding="utf-8").endswith(f"From v{PATCH} to v{V2}.\n")


MIGRATION_FAILURES = {
    "fails": ("#!/bin/sh\necho 'no go' >&2\nexit 3\n", True, f"error: release-migrations/v{V2} failed (exit 3)"),
    "not-executable": (
        "#!/bin/sh\ntouch RAN\n",
        False,
        f"error: release-migrations/v{V2} is not allowed: a migration is an executable file of the template",
    ),
}


@pytest.mark.parametrize(("script", "executable", "says"), MIGRATION_FAILURES.values(), ids=MIGRATION_FAILURES.keys())
def test_failing_migration_undoes_the_update(
    released_template: Path, tmp_path: Path, script: str, executable: bool, says: str
) -> None:
    """A migration that fails, or is no executable file: exit 2 in one line, the branch removed, main clean."""
    project = made_by_cli(released_template, tmp_path / "projects", QUICK)
    main = git(project, "rev-parse", "main")
    add_migration(released_template, V2, script, executable=executable)
    release_v2(released_template)

    updated = template_update(project)
    assert updated.returncode == 2, say(updated)
    assert errors(updated)[-1].startswith(says)
    assert [line for line in errors(updated) if line.startswith("error: ")] == [errors(updated)[-1]]
    assert git(project, "branch", "--list", BRANCH) == ""
    assert (git(project, "branch", "--show-current").strip(), git(project, "rev-parse", "main")) == ("main", main)
    assert git(project, "status", "--porcelain") == ""
    assert not (project / MIGRATION_NOTE).exists()
