"""Build a generated service's binary with the local Go toolchain, as its Makefile does."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from harness.process import ServiceError

# Where the harness caches what is slow to build (buildx, the collector, the vulnerability database),
# keyed by version; kube-cluster.sh keeps its binaries beside them.
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "go-scratch-service"


def build_binary(project: Path, output: Path, *, overlay: Mapping[str, str] | None = None) -> Path:
    """Build the project's static binary as the Makefile does, optionally with files replaced.

    overlay maps a file name in the project (e.g. "routes.go") to the source that
    replaces it for this build only (`go build -overlay`), so the baked tree stays
    untouched.
    """
    command = ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(output)]
    if overlay:
        replacements = output.parent / f"{output.name}.overlay"
        replacements.mkdir(parents=True, exist_ok=True)
        mapping = {}
        for name, source in overlay.items():
            path = replacements / name
            path.write_text(source, encoding="utf-8")
            mapping[str(project / name)] = str(path)
        overlay_file = replacements / "overlay.json"
        overlay_file.write_text(json.dumps({"Replace": mapping}), encoding="utf-8")
        command.append(f"-overlay={overlay_file}")
    command.append(".")
    result = subprocess.run(
        command,
        cwd=project,
        env={**os.environ, "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceError(f"`{' '.join(command)}` exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return output


def cached_binary(binary: Path, build: Callable[[Path], None]) -> Path:
    """Return binary, building it first with build(partial) unless the cache holds it.

    The build writes to a partial path renamed into place, under a lock that xdist workers share,
    so a build that fails or is interrupted never leaves a binary that looks finished.
    """
    if binary.is_file():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    with (binary.parent / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.is_file():
            partial = binary.with_name(f"{binary.name}.partial")
            build(partial)
            partial.rename(binary)
    return binary


def downloaded_module(module: str, version: str) -> Path:
    """Download module@version through the Go module proxy (or find it in the module cache); return its folder.

    The folder is the module cache's, read-only.
    """
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        env={**os.environ, "GOFLAGS": ""},
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return Path(json.loads(result.stdout)["Dir"])
