"""A real OCI registry and a real BuildKit daemon on this machine, for the shipping tests.

The registry is Debian's ``docker-registry`` (the CNCF distribution registry),
served over plain HTTP on 127.0.0.1 with its own configuration and storage.
BuildKit's ``buildkitd`` runs as a separate daemon (root, runc worker) with its
own state directory, and pushes to and pulls from that registry. Both are
started and stopped by process id; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.loopback import LOOPBACK, free_port
from harness.waiting import wait_for

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)

REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: {address}
"""

BUILDKITD_CONFIG = """\
[registry."{address}"]
  http = true
  insecure = true

[worker.containerd]
  enabled = false
"""


class DaemonError(RuntimeError):
    """A daemon that did not start, with what it logged."""


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Terminate one process we started (SIGTERM, then SIGKILL after timeout) and collect it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def start_daemon(
    command: list[str], log: Path, ready: Callable[[], bool], timeout: float, name: str
) -> subprocess.Popen[bytes]:
    """Start a daemon with its output in log; return it once ready() is true, or stop it and raise."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
    if not wait_for(lambda: process.poll() is not None or ready(), timeout=timeout, interval=0.2) or (
        process.poll() is not None
    ):
        stop_process(process)
        raise DaemonError(f"{name} did not start within {timeout}s:\n{log.read_text(errors='replace')}")
    return process


# --- The registry ------------------------------------------------------------------


def registry_answers(port: int) -> bool:
    """Tell whether a registry API answers on the loopback port."""
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/v2/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass(frozen=True)
class Blob:
    """One manifest as the registry serves it."""

    digest: str
    media_type: str
    content: dict[str, Any]
    size: int


@dataclass
class Registry:
    """A distribution registry listening on 127.0.0.1:port."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def host(self) -> str:
        """Return host:port, the registry part of image names."""
        return f"{LOOPBACK}:{self.port}"

    def url(self, path: str) -> str:
        """Return the URL of an API path."""
        return f"http://{self.host}{path}"

    def manifest(self, name: str, reference: str) -> Blob:
        """Fetch a manifest or index by tag or digest."""
        request = urllib.request.Request(self.url(f"/v2/{name}/manifests/{reference}"), headers={"Accept": ACCEPT})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            return Blob(
                digest=response.headers["Docker-Content-Digest"],
                media_type=response.headers["Content-Type"],
                content=json.loads(body),
                size=len(body),
            )

    def blob(self, name: str, digest: str) -> bytes:
        """Fetch a blob (layer or config) by digest."""
        with urllib.request.urlopen(self.url(f"/v2/{name}/blobs/{digest}"), timeout=60) as response:
            return bytes(response.read())

    def put_manifest(self, name: str, reference: str, content: dict[str, Any], media_type: str) -> str:
        """Push a manifest under a tag; return the digest the registry gives it."""
        request = urllib.request.Request(
            self.url(f"/v2/{name}/manifests/{reference}"),
            data=json.dumps(content).encode(),
            method="PUT",
            headers={"Content-Type": media_type},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(response.headers["Docker-Content-Digest"])

    def tags(self, name: str) -> list[str]:
        """List the tags of a repository (none when it does not exist)."""
        try:
            with urllib.request.urlopen(self.url(f"/v2/{name}/tags/list"), timeout=30) as response:
                return sorted(json.loads(response.read()).get("tags") or [])
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return []
            raise


@contextlib.contextmanager
def running_registry(directory: Path) -> Iterator[Registry]:
    """Run docker-registry on a free loopback port, storing into directory, for a with block."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise DaemonError("docker-registry is not installed (Debian package docker-registry)")
    port = free_port()
    config = directory / "config.yml"
    config.write_text(REGISTRY_CONFIG.format(storage=directory / "storage", address=f"{LOOPBACK}:{port}"))
    command = [binary, "serve", str(config)]
    process = start_daemon(command, directory / "registry.log", lambda: registry_answers(port), 30, "registry")
    registry = Registry(port, process)
    try:
        yield registry
    finally:
        stop_process(process)


# --- BuildKit ------------------------------------------------------------------------


@dataclass
class BuildKit:
    """A buildkitd listening on a unix socket; address is what BUILDKIT_HOST takes."""

    address: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def running_buildkitd(directory: Path, buildkitd: str, buildctl: str, registry: Registry) -> Iterator[BuildKit]:
    """Run buildkitd (runc worker, host network) with its own state in directory, trusting the plain-HTTP registry."""
    config = directory / "buildkitd.toml"
    config.write_text(BUILDKITD_CONFIG.format(address=registry.host))
    address = f"unix://{directory / 'buildkitd.sock'}"
    command = [
        buildkitd,
        "--root",
        str(directory / "state"),
        "--addr",
        address,
        "--config",
        str(config),
        "--oci-worker-net=host",
    ]

    def ready() -> bool:
        probe = [buildctl, "--addr", address, "debug", "workers"]
        return subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0

    process = start_daemon(command, directory / "buildkitd.log", ready, 60, "buildkitd")
    try:
        yield BuildKit(address, process)
    finally:
        stop_process(process)
