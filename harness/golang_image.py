"""Local stand-in for the official ``golang:<version>-alpine`` builder image.

Tests build the generated Dockerfile on machines that cannot pull from a
container registry. This module assembles, from a Go toolchain on this machine,
an image that offers only what our Dockerfile may rely on:

* Go at ``/usr/local/go`` (a copy of the toolchain's GOROOT, statically linked
  binaries as shipped on go.dev), ``/usr/local/go/bin`` on ``PATH``;
* ``GOPATH=/go``, ``GOTOOLCHAIN=local``, ``WORKDIR /go`` with ``/go/bin`` and
  ``/go/src``;
* a POSIX ``sh`` and the usual small tools from busybox-static in ``/bin``;
* the host CA bundle at ``/etc/ssl/certs/ca-certificates.crt``;
* ``/etc/passwd`` and ``/etc/group`` with ``root`` and ``nobody``, ``/root``,
  and a world-writable sticky ``/tmp``.

It never carries the official name: it is tagged
``go-scratch-service/golang-standin:<version>-alpine``, so it cannot shadow the
real image in later builds, and builds reach it through the Dockerfile's
``GOLANG_IMAGE`` build argument. The toolchain is the local Go, or a release
that the go command fetches through the module proxy (``GOTOOLCHAIN=go1.27.3``,
kept in the module cache).

The image is built with ``docker import`` from a tar stream, only when the
tag is not present yet. Run ``python -m harness.golang_image [go1.N.P]``
from the repository root to build it and print its tag.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from harness.docker import docker_client, import_rootfs

STANDIN_REPOSITORY = "go-scratch-service/golang-standin"
BUSYBOX = Path("/bin/busybox")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

GOROOT_IN_IMAGE = "usr/local/go"
# Top-level GOROOT entries that `go build`, `go test` and `go vet` never read.
GOROOT_OMITTED = frozenset({"api", "doc", "test"})

IMAGE_PATH = "/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/:/sbin/nologin
"""

GROUP = """\
root:x:0:root
nobody:x:65534:
"""


# --- The Go toolchain ---------------------------------------------------------


def go_env(name: str, toolchain: str | None = None) -> str:
    """Return one `go env` value of the local toolchain, or of `toolchain` ("go1.27.3", fetched when missing)."""
    env = {**os.environ, "GOTOOLCHAIN": toolchain} if toolchain else None
    result = subprocess.run(["go", "env", name], check=True, capture_output=True, text=True, env=env, timeout=900)
    return result.stdout.strip()


def go_version(toolchain: str | None = None) -> str:
    """Return the toolchain's Go version without the "go" prefix, e.g. "1.26.8"."""
    goversion = go_env("GOVERSION", toolchain).split()[0]  # drop any " X:experiment" suffix
    version = goversion.removeprefix("go")
    if not version[:1].isdigit():
        raise RuntimeError(f"Go is not a release build: {goversion!r}")
    return version


def local_go_version() -> str:
    """Return the local Go version without the "go" prefix, e.g. "1.26.8"."""
    return go_version()


def goroot(toolchain: str | None = None) -> Path:
    """Return the toolchain's GOROOT (a module cache directory for a fetched toolchain)."""
    return Path(go_env("GOROOT", toolchain)).resolve()


def image_tag(version: str) -> str:
    """Name the stand-in for golang:<version>-alpine: never the official name."""
    return f"{STANDIN_REPOSITORY}:{version}-alpine"


# --- The root filesystem, as a tar stream ------------------------------------


def as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Make a tar entry owned by root, like files in the official image."""
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    """Add a directory owned by root."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(as_root(info))


def add_text(tar: tarfile.TarFile, name: str, text: str, mode: int = 0o644) -> None:
    """Add a text file owned by root."""
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(as_root(info), io.BytesIO(data))


def add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    """Add a symbolic link."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mode = 0o777
    tar.addfile(as_root(info))


def add_host_file(tar: tarfile.TarFile, name: str, source: Path) -> None:
    """Add a host file's content (following symlinks) under `name`."""
    info = tar.gettarinfo(str(source.resolve()), arcname=name)
    with source.open("rb") as content:
        tar.addfile(as_root(info), content)


def add_filesystem_layout(tar: tarfile.TarFile) -> None:
    """Add the directories the image's files go into."""
    for name in ("bin", "etc", "etc/ssl", "etc/ssl/certs", "usr", "usr/local"):
        add_dir(tar, name)
    for name in ("go", "go/bin", "go/src"):
        add_dir(tar, name, mode=0o777)  # as in the official image
    add_dir(tar, "root", mode=0o700)
    add_dir(tar, "tmp", mode=0o1777)


def add_accounts(tar: tarfile.TarFile) -> None:
    """Add /etc/passwd and /etc/group, with root's home /root."""
    add_text(tar, "etc/passwd", PASSWD)
    add_text(tar, "etc/group", GROUP)


def busybox_applets() -> list[str]:
    """List the applets of the static busybox."""
    result = subprocess.run([str(BUSYBOX), "--list"], check=True, capture_output=True, text=True)
    return sorted(set(result.stdout.split()) - {"busybox"})


def add_busybox(tar: tarfile.TarFile) -> None:
    """Add the static busybox and a link for each applet."""
    if not BUSYBOX.is_file():
        raise RuntimeError(f"{BUSYBOX} is missing: install busybox-static")
    add_host_file(tar, "bin/busybox", BUSYBOX)
    for applet in busybox_applets():
        add_symlink(tar, f"bin/{applet}", "busybox")


def walk_goroot(goroot: Path) -> Iterator[Path]:
    """Yield every path under GOROOT, top-down, skipping GOROOT_OMITTED."""
    for directory, subdirs, files in os.walk(goroot):
        if Path(directory) == goroot:
            subdirs[:] = [d for d in subdirs if d not in GOROOT_OMITTED]
        subdirs.sort()
        here = Path(directory)
        for name in subdirs + sorted(files):
            yield here / name


def add_goroot(tar: tarfile.TarFile, goroot: Path) -> None:
    """Add the Go toolchain under GOROOT_IN_IMAGE."""
    tar.add(str(goroot), arcname=GOROOT_IN_IMAGE, recursive=False, filter=as_root)
    for path in walk_goroot(goroot):
        arcname = f"{GOROOT_IN_IMAGE}/{path.relative_to(goroot).as_posix()}"
        tar.add(str(path), arcname=arcname, recursive=False, filter=as_root)


def write_rootfs(stream: IO[bytes], goroot: Path) -> None:
    """Write the whole stand-in root filesystem as an uncompressed tar stream."""
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        add_filesystem_layout(tar)
        add_accounts(tar)
        add_busybox(tar)
        add_host_file(tar, "etc/ssl/certs/ca-certificates.crt", CA_BUNDLE)
        add_goroot(tar, goroot)


# --- The image ---------------------------------------------------------------


def image_exists(docker: str, tag: str) -> bool:
    """Say whether the engine has the image."""
    result = subprocess.run([docker, "image", "inspect", tag], capture_output=True)
    return result.returncode == 0


def image_changes(version: str) -> list[str]:
    """Dockerfile instructions that `docker import --change` applies."""
    description = f"local stand-in for golang:{version}-alpine, assembled from a Go toolchain on the build machine"
    return [
        f"ENV PATH={IMAGE_PATH}",
        "ENV GOPATH=/go",
        "ENV GOTOOLCHAIN=local",
        f"ENV GOLANG_VERSION={version}",
        "WORKDIR /go",
        'CMD ["/bin/sh"]',
        f'LABEL org.opencontainers.image.description="{description}"',
        f"LABEL org.opencontainers.image.version={version}",
    ]


def ensure_golang_image(toolchain: str | None = None) -> str:
    """Build the stand-in of the local Go, or of `toolchain` ("go1.27.3"), unless its tag exists; return the tag."""
    docker = docker_client()
    version = go_version(toolchain)
    tag = image_tag(version)
    if not image_exists(docker, tag):
        root = goroot(toolchain)
        import_rootfs(docker, tag, image_changes(version), lambda stream: write_rootfs(stream, root))
    return tag


if __name__ == "__main__":
    print(ensure_golang_image(*sys.argv[1:2]))
