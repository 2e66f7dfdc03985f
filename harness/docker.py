"""A thin, typed layer over the Docker CLI for the image tests and benchmarks.

The client is the one scripts/docker-client.sh chooses (the `docker` on PATH when
it builds with BuildKit, else an older client that does so with DOCKER_BUILDKIT=1),
always run with DOCKER_BUILDKIT=1; containers only ever use the host's loopback
(``--network host``) or no network at all.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.build import CACHE_DIR, cached_binary, downloaded_module
from harness.versions import BUILDX_VERSION, COMPOSE_VERSION
from harness.waiting import wait_for

CLIENT_CHOOSER = Path(__file__).resolve().parents[1] / "scripts" / "docker-client.sh"


@functools.cache
def docker_client() -> str:
    """Return the path of the Docker client that builds with BuildKit ("docker" when none qualifies)."""
    result = subprocess.run(["bash", str(CLIENT_CHOOSER)], capture_output=True, text=True, timeout=60, check=False)
    return result.stdout.strip() or "docker"


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
        [docker_client(), *args],
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


# --- Build logs ----------------------------------------------------------------

STEP_HEADER = re.compile(r"^#(\d+) (\[.+)$")
STEP_CACHED = re.compile(r"^#(\d+) CACHED$")
STEP_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s$")


@dataclass(frozen=True)
class BuildStep:
    """One step of a BuildKit build, as its plain progress log tells it."""

    number: int
    name: str  # e.g. "[build 5/7] RUN --mount=type=cache,target=/go/pkg/mod     go mod download"
    cached: bool
    seconds: float | None  # from "#N DONE 1.2s"; None for a cached step


def build_steps(log: str) -> list[BuildStep]:
    """Read the steps (named "[stage n/m] ..." or "[internal] ...") from a plain BuildKit log, in order.

    BuildKit leaves out of the log every step that it shares with a concurrent build of identical
    content, so a step can be missing: give builds whose steps you read content of their own.
    """
    names: dict[int, str] = {}
    cached: set[int] = set()
    seconds: dict[int, float] = {}
    for line in log.splitlines():
        if header := STEP_HEADER.match(line):
            names.setdefault(int(header.group(1)), header.group(2))
        elif hit := STEP_CACHED.match(line):
            cached.add(int(hit.group(1)))
        elif done := STEP_DONE.match(line):
            seconds[int(done.group(1))] = float(done.group(2))
    return [
        BuildStep(number=n, name=name, cached=n in cached, seconds=None if n in cached else seconds.get(n))
        for n, name in sorted(names.items())
    ]


def find_step(steps: Sequence[BuildStep], text: str) -> BuildStep | None:
    """Return the first step whose instruction contains text, or None."""
    return next((step for step in steps if text in step.name), None)


# --- Images ---------------------------------------------------------------------


def import_rootfs(docker: str, tag: str, changes: Sequence[str], write: Callable[[IO[bytes]], None]) -> None:
    """Stream the root filesystem `write` produces into `docker import` with `changes`, and tag the result."""
    command = [docker, "import"]
    for change in changes:
        command += ["--change", change]
    command += ["-", tag]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert process.stdin is not None
    try:
        write(process.stdin)
    except BrokenPipeError:
        pass  # docker import exited early; its exit status reports why
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError(f"docker import of {tag} failed (exit status {process.returncode})")


def image_inspect(tag: str) -> dict[str, Any]:
    """Return `docker image inspect` of one image."""
    return json.loads(docker("image", "inspect", tag).stdout)[0]


def image_size(tag: str) -> int:
    """Return the image's content size in bytes (`docker image inspect` .Size)."""
    return int(image_inspect(tag)["Size"])


def remove_images(*tags: str) -> None:
    """Remove images by tag, ignoring those that do not exist."""
    if tags:
        docker("image", "rm", "--force", *tags, check=False)


# --- Filesystems ------------------------------------------------------------------

# What Docker adds to every container (its init layer: mount points, DNS and host files); not the image's.
CONTAINER_RUNTIME_PATHS = frozenset(
    {
        ".dockerenv",
        "dev",
        "dev/console",
        "dev/pts",
        "dev/shm",
        "etc/hostname",
        "etc/hosts",
        "etc/mtab",
        "etc/resolv.conf",
        "proc",
        "sys",
    }
)


@dataclass(frozen=True)
class ImageFile:
    """One entry of an image's filesystem."""

    path: str  # relative, without a leading or trailing slash: "etc/passwd"
    kind: str  # "file", "dir", "symlink" or "other"
    size: int
    mode: int  # permission bits only, e.g. 0o755
    uid: int
    gid: int
    content: bytes | None = None  # regular files only


def tar_kind(member: tarfile.TarInfo) -> str:
    """Name the kind of a tar entry."""
    if member.isreg():
        return "file"
    if member.isdir():
        return "dir"
    if member.issym():
        return "symlink"
    return "other"


def read_tar(data: bytes) -> dict[str, ImageFile]:
    """Read every entry of a tar archive, with the content of its regular files."""
    files: dict[str, ImageFile] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar:
            path = member.name.removeprefix("./").strip("/")
            if not path:
                continue
            content = None
            if member.isreg():
                extracted = tar.extractfile(member)
                content = extracted.read() if extracted else b""
            mode = member.mode & 0o7777  # docker export keeps the file type bits in the mode
            files[path] = ImageFile(path, tar_kind(member), member.size, mode, member.uid, member.gid, content)
    return files


def create_container(tag: str, *, platform: str | None = None) -> str:
    """Create (never start) a container from the image; return its id."""
    args = ["create", "--network", "none"]
    if platform:
        args += ["--platform", platform]
    return docker(*args, tag).stdout.strip()


def remove_container(container: str) -> None:
    """Remove a container, running or not, ignoring one that is gone."""
    docker("rm", "--force", "--volumes", container, check=False)


def exported_files(tag: str, *, platform: str | None = None) -> dict[str, ImageFile]:
    """List the image's filesystem: `docker export` of a created container, without Docker's runtime entries."""
    container = create_container(tag, platform=platform)
    try:
        result = subprocess.run([docker_client(), "export", container], capture_output=True, timeout=300, check=False)
        if result.returncode != 0:
            raise DockerError(f"docker export {container} exited {result.returncode}:\n{result.stderr.decode()}")
    finally:
        remove_container(container)
    files = read_tar(result.stdout)
    return {path: file for path, file in files.items() if path not in CONTAINER_RUNTIME_PATHS}


# --- Containers ---------------------------------------------------------------------

# The options of a hardened run: no writes to the image, no capabilities, no privilege gain.
HARDENED = ("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges")


def run_container(
    tag: str,
    *,
    network: str,
    env: Mapping[str, str] | None = None,
    options: Sequence[str] = (),
    command: Sequence[str] = (),
) -> str:
    """Start a detached container on the host's network or none; return its id."""
    if network not in {"host", "none"}:
        raise ValueError(f"network {network!r}: containers here use only 'host' or 'none'")
    args = ["run", "--detach", "--network", network]
    for key, value in (env or {}).items():
        args += ["--env", f"{key}={value}"]
    return docker(*args, *options, tag, *command).stdout.strip()


def container_inspect(container: str) -> dict[str, Any]:
    """Return `docker container inspect` of one container."""
    return json.loads(docker("container", "inspect", container).stdout)[0]


def container_logs(container: str) -> str:
    """Return everything the container wrote to stdout and stderr."""
    result = docker("logs", container)
    return result.stdout + result.stderr


def host_pid(container: str) -> int:
    """Return the host pid of the container's main process (0 when it is not running)."""
    return int(container_inspect(container)["State"]["Pid"])


def process_status(pid: int) -> dict[str, str]:
    """Read /proc/<pid>/status on the host as a dict of its fields: {"CapEff": "0000000000000000", ...}."""
    lines = Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def wait_for_log(container: str, text: str, *, timeout: float = 30) -> bool:
    """Wait until the container's output holds text."""
    return wait_for(lambda: text in container_logs(container), timeout=timeout, interval=0.2)


def health_status(container: str) -> str:
    """Return Docker's health status of the container: starting, healthy, unhealthy, or none."""
    health = container_inspect(container)["State"].get("Health")
    return health["Status"] if health else "none"


def wait_for_health(container: str, *, timeout: float = 60) -> str:
    """Wait until Docker calls the container healthy or unhealthy; return the last status seen."""
    statuses: list[str] = []

    def settled() -> bool:
        statuses.append(health_status(container))
        return statuses[-1] in {"healthy", "unhealthy"}

    wait_for(settled, timeout=timeout, interval=0.5)
    return statuses[-1]


@dataclass(frozen=True)
class Stop:
    """How a container ended after `docker stop`."""

    exit_code: int
    seconds: float
    oom_killed: bool


def stop_container(container: str, *, timeout: int = 10) -> Stop:
    """Send SIGTERM (`docker stop`), SIGKILL after timeout seconds; report how it ended."""
    start = time.monotonic()
    docker("stop", "--time", str(timeout), container, timeout=timeout + 60)
    seconds = time.monotonic() - start
    state = container_inspect(container)["State"]
    return Stop(exit_code=int(state["ExitCode"]), seconds=seconds, oom_killed=bool(state["OOMKilled"]))


# --- buildx, the docker CLI plugin that `make publish` drives ----------------------------------

# Pinned: the buildx release whose `remote` driver the publish tests point at their own buildkitd.
BUILDX_MODULE = "github.com/docker/buildx"


def buildx_plugin(version: str = BUILDX_VERSION) -> Path:
    """Build docker-buildx from the Go module proxy unless the cache holds this version; return its path."""

    def build(partial: Path) -> None:
        gobin = partial.with_name("gobin")
        ldflags = f"-X {BUILDX_MODULE}/version.Version={version}"
        subprocess.run(
            ["go", "install", "-trimpath", "-ldflags", ldflags, f"{BUILDX_MODULE}/cmd/buildx@{version}"],
            env={**os.environ, "CGO_ENABLED": "0", "GOBIN": str(gobin), "GOFLAGS": ""},
            check=True,
            capture_output=True,
            timeout=1800,
        )
        (gobin / "buildx").rename(partial)

    return cached_binary(CACHE_DIR / f"buildx-{version}" / "docker-buildx", build)


def buildx_config(directory: Path, plugin: Path) -> Path:
    """Make a DOCKER_CONFIG directory whose only CLI plugin is plugin; return it."""
    return plugin_config(directory, {"docker-buildx": plugin})


def plugin_config(directory: Path, plugins: Mapping[str, Path]) -> Path:
    """Make a DOCKER_CONFIG directory whose only CLI plugins are plugins (name: binary); return it."""
    folder = directory / "cli-plugins"
    folder.mkdir(parents=True, exist_ok=True)
    for name, binary in plugins.items():
        (folder / name).symlink_to(binary)
    (directory / "config.json").write_text("{}\n", encoding="utf-8")
    return directory


# --- compose, the docker CLI plugin that runs a generated project's compose.yaml ----------------

# Pinned: v5.6.0, the newest Compose v5 whose every dependency the Go module proxy serves (v5.7's
# docker/secrets-engine modules answer 403 there).
COMPOSE_MODULE = "github.com/docker/compose/v5"


def module_source(module: str, version: str, destination: Path) -> Path:
    """Copy a module's source from the Go module proxy (through the module cache) into destination, writable."""
    shutil.rmtree(destination, ignore_errors=True)  # what an interrupted build left
    shutil.copytree(downloaded_module(module, version), destination)
    for path in [destination, *destination.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    return destination


def compose_plugin(version: str = COMPOSE_VERSION) -> Path:
    """Build docker-compose from the Go module proxy unless the cache holds this version; return its path.

    Compose's go.mod has exclude directives, which `go install module@version` refuses: it is built
    inside its downloaded module, with its own go.sum, as its Makefile does.
    """

    def build(partial: Path) -> None:
        source = module_source(COMPOSE_MODULE, version, partial.with_name("source"))
        ldflags = f"-s -w -X {COMPOSE_MODULE}/internal.Version={version}"
        try:
            subprocess.run(
                ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(partial), "./cmd"],
                cwd=source,
                env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"},
                check=True,
                capture_output=True,
                timeout=1800,
            )
        finally:
            shutil.rmtree(source)

    return cached_binary(CACHE_DIR / f"compose-{version}" / "docker-compose", build)


if __name__ == "__main__":
    print(buildx_plugin())
    print(compose_plugin())
