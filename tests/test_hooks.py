"""Hooks: the hook functions, rendered as users get them and imported, do what their names say."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from dockerfile_parse import DockerfileParser

from harness.answers import MODULE_PATHS, SLUG
from harness.project import GO_VERSION, TEMPLATE_DIR, Bake
from harness.template import ca_bundle_copied, ca_bundle_expected, load_hook, render_context
from harness.tools import require_tool, run

BOOLEAN_SPELLINGS = [True, False, "true", "False", "TRUE", "yes", "No", "y", "N", "1", "0", "on", "OFF", "t", "f", 1, 0]


@pytest.mark.parametrize("spelling", BOOLEAN_SPELLINGS, ids=repr)
def test_hook_and_templates_read_booleans_alike(pre_gen: ModuleType, spelling: object) -> None:
    """The hook's check and the __https_client flag the templates use agree on every spelling."""
    rendered = render_context({"https_client": spelling, "go_version": GO_VERSION})["cookiecutter"]
    assert str(pre_gen.check_bool("https_client", spelling)) == rendered["__https_client"]


@pytest.mark.parametrize("value", ["maybe", "", "2", "tru", "yes please", None, 2, 1.0], ids=repr)
def test_check_bool_refuses_anything_else(pre_gen: ModuleType, value: object) -> None:
    """Anything but the accepted spellings is refused, naming what is allowed."""
    with pytest.raises(pre_gen.InvalidAnswer, match=r"true/false, yes/no, y/n or 1/0"):
        pre_gen.check_bool("https_client", value)


@pytest.mark.parametrize(("path", "valid"), MODULE_PATHS.items(), ids=MODULE_PATHS.keys())
def test_module_path_rules(pre_gen: ModuleType, path: str, valid: bool) -> None:
    """The hook accepts exactly the module paths in the table."""
    assert (pre_gen.module_path_problem(path) is None) == valid


CHECK_PATH_PROGRAM = """package main

import (
	"bufio"
	"fmt"
	"os"

	"golang.org/x/mod/module"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(module.CheckPath(in.Text()) == nil)
	}
}
"""


def go_command_builds(path: str, directory: Path) -> bool:
    """Whether `go mod init <path>` and `go build` accept a main package at the root of a module with this path."""
    directory.mkdir()
    (directory / "main.go").write_text("package main\n\nfunc main() {}\n")
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "GOPROXY": "off"}
    for command in (["go", "mod", "init", path], ["go", "build", "-o", os.devnull, "."]):
        if subprocess.run(command, cwd=directory, env=env, capture_output=True, check=False).returncode != 0:
            return False
    return True


@pytest.mark.slow
def test_module_path_rules_match_the_go_command(pre_gen: ModuleType, tmp_path: Path) -> None:
    """On the whole table, the hook accepts a path exactly when the go command builds it and module.CheckPath passes.

    `go mod init` and `go build` alone accept a few paths (a leading dot, a plus) that CheckPath, which
    `go get` applies when another module requires this one, refuses: the hook refuses those too.
    """
    checker = tmp_path / "checkpath"
    checker.mkdir()
    (checker / "main.go").write_text(CHECK_PATH_PROGRAM)
    run(["go", "mod", "init", "example.com/checkpath"], cwd=checker)
    run(["go", "get", "golang.org/x/mod@v0.30.0"], cwd=checker)
    paths = list(MODULE_PATHS)
    result = subprocess.run(
        ["go", "run", "."], cwd=checker, input="\n".join(paths) + "\n", capture_output=True, text=True, check=True
    )
    check_path = dict(zip(paths, (line == "true" for line in result.stdout.split()), strict=True))
    builds = {path: go_command_builds(path, tmp_path / f"module{index}") for index, path in enumerate(paths)}
    hook_says = {path: pre_gen.module_path_problem(path) is None for path in paths}
    assert hook_says == {path: check_path[path] and builds[path] for path in paths}
    assert hook_says == MODULE_PATHS


def test_strip_ca_certificates_leaves_no_residue(post_gen: ModuleType, bake: Bake, tmp_path: Path) -> None:
    """Stripping removes the CA paragraph only, leaves no blank-line residue, and is idempotent."""
    dockerfile = tmp_path / "Dockerfile"
    shutil.copy(bake(https_client=True) / "Dockerfile", dockerfile)
    post_gen.strip_ca_certificates(dockerfile)
    once = dockerfile.read_text()
    post_gen.strip_ca_certificates(dockerfile)
    assert dockerfile.read_text() == once
    assert "ca-certificates" not in once
    assert "CA bundle" not in once
    assert "\n\n\n" not in once
    assert once.endswith(f'ENTRYPOINT ["/{SLUG}"]\n')
    assert [i["instruction"] for i in DockerfileParser(path=str(dockerfile)).structure].count("COPY") == 5
    assert once == (bake(https_client=False) / "Dockerfile").read_text()


def test_drop_ca_bundle_changes_dockerfile_and_image_test_together(
    post_gen: ModuleType, bake: Bake, tmp_path: Path
) -> None:
    """Dropping the CA bundle removes its copy and the image test's expectation of it, together and idempotently."""
    project = tmp_path / "project"
    shutil.copytree(bake(https_client=True), project)
    names = ("Dockerfile", "container-structure-test.yaml")
    post_gen.drop_ca_bundle(project)
    once = {name: (project / name).read_text() for name in names}
    post_gen.drop_ca_bundle(project)
    assert {name: (project / name).read_text() for name in names} == once
    assert not ca_bundle_copied(project)
    assert not ca_bundle_expected(project)
    without_https = bake(https_client=False)
    assert once == {name: (without_https / name).read_text() for name in names}


def test_stripped_dockerfile_passes_hadolint(bake: Bake) -> None:
    """The Dockerfile without CA lines is still lint-clean."""
    hadolint = require_tool("hadolint")
    run([hadolint, "Dockerfile"], cwd=bake(https_client=False))


def test_vendor_dependencies_notes_when_there_is_nothing_to_vendor(
    post_gen: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no go.sum there are no dependencies: a short note, no vendor/ and no error."""
    (tmp_path / "go.mod").write_text(f"module example.com/x\n\ngo {GO_VERSION}\n")
    post_gen.vendor_dependencies(tmp_path)
    assert "nothing to vendor" in capsys.readouterr().out
    assert not (tmp_path / "vendor").exists()


def test_vendor_dependencies_without_go_says_so(
    post_gen: ModuleType, bake: Bake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the go command, vendoring fails with an error that says to install Go."""
    project = bake(prometheus_metrics=True)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(post_gen.HookError, match=r"`go` command is not on PATH"):
        post_gen.vendor_dependencies(project)
    assert not (project / "vendor").exists()


def test_vendoring_failure_leaves_nothing_behind(
    cookies: object, tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When `go mod vendor` cannot download, generation fails with its reason and removes the project."""
    monkeypatch.setenv("GOPROXY", "off")
    monkeypatch.setenv("GOFLAGS", "-modcacherw")
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "empty-module-cache"))
    result = cookies.bake(  # type: ignore[attr-defined]
        template=str(TEMPLATE_DIR),
        extra_context={"go_version": GO_VERSION, "vendor_dependencies": True, "prometheus_metrics": True},
    )
    assert result.exit_code != 0
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0].startswith("error: `go mod vendor` failed: ")
    assert [p for p in (tmp_path / "cookies").rglob("*") if p.is_file()] == []


def test_post_gen_hook_is_idempotent(bake: Bake) -> None:
    """Running the post-generation hook again (as cruft does on update) changes nothing."""
    project = bake(https_client=False, vendor_dependencies=True, prometheus_metrics=True)
    before = {p: p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}
    hook = load_hook(
        "post_gen_project",
        project.parent,
        {
            "go_version": GO_VERSION,
            "https_client": False,
            "vendor_dependencies": True,
            "prometheus_metrics": True,
        },
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        assert hook.main() == 0
    after = {p: p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file() and p.name != "post_gen_project.py"}
    assert after == before
