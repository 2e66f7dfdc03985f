"""The default go_version, newer than the Go installed here, built for real.

The other tests render for the local Go. The template's default go_version (1.27.3 in
cookiecutter.json, the release that CI and the builder image run) is newer, so here the go
command fetches that release through the module proxy (GOTOOLCHAIN=go1.27.3; the module
cache keeps it, about 70 MB once). The
default project, answers left untouched, is vetted, tested and built with it, and its
image is built with a builder stand-in made from the same toolchain, passed through the
Dockerfile's GOLANG_IMAGE argument; the container runs and answers GET /.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import elf
from harness.answers import COOKIECUTTER_JSON, SLUG
from harness.docker import (
    HARDENED,
    build_image,
    container_logs,
    exported_files,
    remove_container,
    remove_images,
    run_container,
)
from harness.loopback import answers, free_port, request
from harness.project import TEMPLATE_DIR
from harness.tools import run, standin_builder
from harness.waiting import wait_for

DEFAULT_GO_VERSION: str = COOKIECUTTER_JSON["go_version"]
# The default go_version is an exact release: the toolchain these tests fetch.
DEFAULT_TOOLCHAIN = f"go{DEFAULT_GO_VERSION}"


@pytest.fixture(scope="module")
def toolchain() -> dict[str, str]:
    """Fetch the default release through the module proxy (once; then from the module cache); return its env."""
    env = {"GOTOOLCHAIN": DEFAULT_TOOLCHAIN}
    version = run(["go", "env", "GOVERSION"], cwd=TEMPLATE_DIR, env=env, timeout=900).strip()
    assert version == DEFAULT_TOOLCHAIN
    return env


@pytest.fixture(scope="module")
def default_project(cookies_session: Any) -> Path:
    """Bake with every answer at its default, go_version included."""
    result = cookies_session.bake(template=str(TEMPLATE_DIR))
    if result.exception is not None or result.exit_code != 0:
        pytest.fail(f"baking the defaults failed: {result.exception!r}")
    return Path(result.project_path)


def test_default_go_version_is_an_exact_release() -> None:
    """The default go_version names an exact patch release (GOTOOLCHAIN can fetch it; the image tag exists)."""
    assert re.fullmatch(r"go1\.\d+\.\d+", DEFAULT_TOOLCHAIN)


def test_default_project_asks_for_the_default_go_release(default_project: Path) -> None:
    """go.mod's go line is the default go_version."""
    go_mod = (default_project / "go.mod").read_text(encoding="utf-8")
    assert re.search(rf"^go {re.escape(DEFAULT_GO_VERSION)}(\.0)?$", go_mod, re.MULTILINE), go_mod


@pytest.mark.slow
def test_default_project_vets_tests_and_builds_with_the_default_release(
    default_project: Path, toolchain: dict[str, str], tmp_path: Path
) -> None:
    """With Go 1.27.3, `go vet`, `go test -race` and a static build pass, and the binary records that release."""
    run(["go", "vet", "./..."], cwd=default_project, env=toolchain)
    run(["go", "test", "-race", "-count=1", "./..."], cwd=default_project, env=toolchain)
    binary = tmp_path / SLUG
    build = ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(binary), "."]
    run(build, cwd=default_project, env={**toolchain, "CGO_ENABLED": "0"})
    assert elf.is_static(binary.read_bytes())
    assert run(["go", "version", str(binary)], cwd=tmp_path).split() == [f"{binary}:", DEFAULT_TOOLCHAIN]


@pytest.fixture(scope="module")
def default_image(default_project: Path, toolchain: dict[str, str]) -> Iterator[str]:
    """Build the default project's image with a builder stand-in made from Go 1.27.3, through GOLANG_IMAGE."""
    builder = standin_builder(DEFAULT_TOOLCHAIN)
    assert builder.endswith(f":{DEFAULT_TOOLCHAIN.removeprefix('go')}-alpine")
    assert not builder.startswith("golang:"), "a stand-in must never carry the official name"
    tag = f"{SLUG}-default-go:{os.getpid()}"
    build_image(default_project, tag, build_args={"GOLANG_IMAGE": builder}, network="none")
    yield tag
    remove_images(tag)


@pytest.mark.docker
@pytest.mark.slow
def test_default_image_binary_is_built_by_the_default_release(default_image: str, tmp_path: Path) -> None:
    """The image's binary is a static one that Go 1.27.3 built: the stand-in's toolchain, not the local Go."""
    binary = tmp_path / SLUG
    content = exported_files(default_image)[SLUG].content
    assert content is not None
    binary.write_bytes(content)
    assert elf.is_static(content)
    assert run(["go", "version", str(binary)], cwd=tmp_path).split() == [f"{binary}:", DEFAULT_TOOLCHAIN]


@pytest.mark.docker
@pytest.mark.slow
def test_default_image_runs_and_answers_get_root(default_image: str) -> None:
    """The container, run hardened on the host's loopback, answers GET / with the service's name."""
    port = free_port()
    container = run_container(default_image, network="host", env={"PORT": str(port)}, options=HARDENED)
    try:
        if not wait_for(lambda: answers(port, "/", 200), timeout=30, interval=0.1):
            pytest.fail(f"{default_image} did not answer GET / within 30 s:\n{container_logs(container)}")
        reply = request(port, "/")
    finally:
        remove_container(container)
    assert json.loads(reply.body)["name"] == SLUG
