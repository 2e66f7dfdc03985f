"""Write the skeleton's go.mod require blocks and go.sum, one Jinja branch per option combination.

    .venv/bin/python scripts/go-modules.py           # rewrite the template's go.mod and go.sum
    .venv/bin/python scripts/go-modules.py --check   # exit 1, with a diff, when they are not what it writes

The direct requirements and their versions are read from the template's go.mod branch with every
option on: that is the one place to change a version. An indirect version there is a floor (a
security fix newer than what the direct modules ask for, say): every combination that needs that
module gets at least it. For each combination that has dependencies,
the script bakes the project, lists the modules its code (and tests) import, writes a go.mod that
requires exactly those at the pinned versions, and lets `go mod tidy` add the indirect ones and
go.sum. The results go back into the template's branches; the go.mod header (module and go lines)
is kept as it is. Needs Go and the Go module proxy (or a module cache that holds the versions).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

REPO = Path(__file__).resolve().parent.parent
SKELETON = REPO / "{{cookiecutter.project_slug}}"
GO_MOD = SKELETON / "go.mod"
GO_SUM = SKELETON / (
    "{% if cookiecutter.__prometheus_metrics == 'True' or cookiecutter.__opentelemetry == 'True' "
    "or cookiecutter.database == 'postgres' %}go.sum{% endif %}"
)
PROMETHEUS = 'cookiecutter.__prometheus_metrics == "True"'
OPENTELEMETRY = 'cookiecutter.__opentelemetry == "True"'
POSTGRES = 'cookiecutter.database == "postgres"'


def answers(metrics: bool, tracing: bool, postgres: bool) -> dict[str, str]:
    """The answers of one combination of the options that bring dependencies."""
    yes_no = {True: "yes", False: "no"}
    return {
        "prometheus_metrics": yes_no[metrics],
        "opentelemetry": yes_no[tracing],
        "database": "postgres" if postgres else "none",
    }


# The combinations that have dependencies, in branch order (every option on first: its branch holds
# the pins), each as (answers, Jinja condition); an elif branch's condition leaves out what earlier ones took.
COMBINATIONS = [
    (answers(True, True, True), f"{PROMETHEUS} and {OPENTELEMETRY} and {POSTGRES}"),
    (answers(True, True, False), f"{PROMETHEUS} and {OPENTELEMETRY}"),
    (answers(True, False, True), f"{PROMETHEUS} and {POSTGRES}"),
    (answers(True, False, False), PROMETHEUS),
    (answers(False, True, True), f"{OPENTELEMETRY} and {POSTGRES}"),
    (answers(False, True, False), OPENTELEMETRY),
    (answers(False, False, True), POSTGRES),
]
BRANCH_START = re.compile(r"^\{%-? if ", re.MULTILINE)
REQUIRE_LINE = re.compile(r"^\s*(?:require\s+)?(\S+)\s+(v\S+)(\s*//\s*indirect)?\s*$")


class ModulesError(RuntimeError):
    """A step of the rewrite failed."""


def go(*args: str, cwd: Path) -> str:
    """Run a go command with the local toolchain and the module proxy; return its output."""
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOWORK": "off", "GOFLAGS": "-mod=mod"}
    result = subprocess.run(["go", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ModulesError(f"`go {' '.join(args)}` in {cwd} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def local_go_version() -> str:
    """Return the local toolchain's version as 1.N.P, for go_version: then no toolchain is fetched."""
    return go("env", "GOVERSION", cwd=REPO).strip().removeprefix("go")


def split_header(go_mod: str) -> tuple[str, str]:
    """Split the template's go.mod into its header (module, go line) and its require branches."""
    match = BRANCH_START.search(go_mod)
    if match is None:
        raise ModulesError(f"{GO_MOD.name}: no `{{%- if` branch after the header")
    return go_mod[: match.start()], go_mod[match.start() :]


def branch_pins(branches: str) -> tuple[dict[str, str], dict[str, str]]:
    """Return module -> version of the direct requirements, and of the indirect floors, in the first branch."""
    first = re.split(r"^\{%-? el", branches, maxsplit=1, flags=re.MULTILINE)[0]
    pins: dict[str, str] = {}
    floors: dict[str, str] = {}
    for line in first.splitlines():
        match = REQUIRE_LINE.match(line)
        if match:
            (floors if match[3] else pins)[match[1]] = match[2]
    if not pins:
        raise ModulesError(f"{GO_MOD.name}: no direct requirement in the branch with every option")
    return pins, floors


def bake(answers: dict[str, str], output: Path) -> Path:
    """Bake the project for answers (vendoring off) with the local Go version."""
    context = {**answers, "go_version": local_go_version(), "vendor_dependencies": "no"}
    return Path(cookiecutter(str(REPO), no_input=True, output_dir=str(output), extra_context=context))


def imported_modules(project: Path, pins: dict[str, str]) -> list[str]:
    """Return the pinned modules that the project's packages or tests import, longest module path first."""
    own = go("list", "-m", cwd=project).strip()
    listed = go("list", "-e", "-f", '{{join .Imports "\\n"}}\n{{join .TestImports "\\n"}}', "./...", cwd=project)
    imports = {
        line for line in listed.split() if "." in line.split("/")[0] and line != own and not line.startswith(own + "/")
    }
    needed = set()
    for path in imports:
        owners = [module for module in pins if path == module or path.startswith(module + "/")]
        if not owners:
            raise ModulesError(f"{project.name} imports {path}, which no direct requirement of {GO_MOD.name} provides")
        needed.add(max(owners, key=len))
    return sorted(needed)


def raise_to_floors(project: Path, floors: dict[str, str]) -> bool:
    """Raise every tidied indirect requirement below its floor with `go get`; return whether one was."""
    raised = False
    for line in (project / "go.mod").read_text(encoding="utf-8").splitlines():
        match = REQUIRE_LINE.match(line)
        if match and match[1] in floors and semver_key(match[2]) < semver_key(floors[match[1]]):
            go("get", f"{match[1]}@{floors[match[1]]}", cwd=project)
            raised = True
    return raised


def semver_key(version: str) -> tuple[int, ...]:
    """Order vMAJOR.MINOR.PATCH versions (pre-release suffixes ignored: floors are releases)."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-")[0])[:3])


def tidy(project: Path, pins: dict[str, str], floors: dict[str, str]) -> tuple[str, str]:
    """Require exactly the imported pinned modules, run `go mod tidy`; return the require part and go.sum."""
    go_mod = project / "go.mod"
    header = "".join(
        line
        for line in go_mod.read_text(encoding="utf-8").splitlines(keepends=True)
        if line.startswith(("module ", "go "))
    )
    requires = "".join(f"\t{module} {pins[module]}\n" for module in imported_modules(project, pins))
    go_mod.write_text(f"{header}\nrequire (\n{requires})\n", encoding="utf-8")
    (project / "go.sum").unlink(missing_ok=True)
    go("mod", "tidy", cwd=project)
    if raise_to_floors(project, floors):
        go("mod", "tidy", cwd=project)
    tidied = go_mod.read_text(encoding="utf-8")
    if "\ntoolchain " in tidied:
        raise ModulesError(f"`go mod tidy` added a toolchain line to {project.name}/go.mod")
    body = tidied.split("\nrequire", 1)[1]
    return "\nrequire" + body.rstrip("\n"), (project / "go.sum").read_text(encoding="utf-8")


def render_go_mod(header: str, bodies: list[str]) -> str:
    """Return the template's go.mod: the header kept, then one branch per combination."""
    branches = [
        f"{{%- {'if' if n == 0 else 'elif'} {condition} %}}\n{body}\n"
        for n, ((_, condition), body) in enumerate(zip(COMBINATIONS, bodies, strict=True))
    ]
    return header + "".join(branches) + "{%- endif %}\n"


def render_go_sum(sums: list[str]) -> str:
    """Return the template's go.sum (its file name already requires a dependency): one branch each."""
    keywords = ["if", *["elif"] * (len(COMBINATIONS) - 2), "else"]
    branches = []
    for keyword, (_, condition), text in zip(keywords, COMBINATIONS, sums, strict=True):
        tag = "{% else %}" if keyword == "else" else f"{{% {keyword} {condition} %}}"
        branches.append(tag + text)
    return "".join(branches) + "{% endif %}"  # go.sum already ends with a newline


def generate() -> dict[Path, str]:
    """Bake and tidy every combination; return the template files as they should be."""
    header, branches = split_header(GO_MOD.read_text(encoding="utf-8"))
    pins, floors = branch_pins(branches)
    bodies, sums = [], []
    with tempfile.TemporaryDirectory(prefix="go-modules-") as tmp:
        for n, (answers, _) in enumerate(COMBINATIONS):
            body, go_sum = tidy(bake(answers, Path(tmp) / str(n)), pins, floors)
            bodies.append(body)
            sums.append(go_sum)
    return {GO_MOD: render_go_mod(header, bodies), GO_SUM: render_go_sum(sums)}


def main() -> int:
    """Rewrite the files, or with --check report how they differ from what would be written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the files are stale")
    args = parser.parse_args()
    stale = False
    for path, text in generate().items():
        current = path.read_text(encoding="utf-8")
        if current == text:
            continue
        stale = True
        if args.check:
            name = path.relative_to(REPO).as_posix()
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True), name, name))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")
    if args.check and stale:
        print("go.mod/go.sum are not what scripts/go-modules.py writes: run it and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except ModulesError as err:
        print(f"go-modules: {err}", file=sys.stderr)
        raise SystemExit(1) from None
