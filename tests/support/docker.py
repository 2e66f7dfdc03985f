"""A thin, typed layer over the Docker CLI for the image tests and benchmarks.

Always the Debian client (/usr/bin/docker) with BuildKit; containers only ever
use the host's loopback (``--network host``) or no network at all.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DOCKER = "/usr/bin/docker"


class DockerError(RuntimeError):
    """A docker command that failed, with its output."""


@dataclass(frozen=True)
class Build:
    """The outcome of one `docker build`."""

    tag: str
    seconds: float
    log: str  # BuildKit's plain progress output


def docker(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI; raise DockerError with its output when check is on and it fails."""
    result = subprocess.run(
        [DOCKER, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    if check and result.returncode != 0:
        raise DockerError(f"docker {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def engine_available() -> bool:
    """Tell whether a Docker engine answers."""
    try:
        return docker("info", check=False, timeout=30).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def build_image(
    context: Path,
    tag: str,
    *,
    build_args: Mapping[str, str] | None = None,
    platform: str | None = None,
    network: str | None = None,
    extra: Sequence[str] = (),
) -> Build:
    """Build the Dockerfile in context with BuildKit, timing it and keeping its plain log."""
    args = ["build", "--progress=plain", "-t", tag]
    for key, value in (build_args or {}).items():
        args += ["--build-arg", f"{key}={value}"]
    if platform:
        args += ["--platform", platform]
    if network:
        args += ["--network", network]
    start = time.monotonic()
    result = docker(*args, *extra, str(context))
    return Build(tag=tag, seconds=time.monotonic() - start, log=result.stdout + result.stderr)
