"""Runtime base images assembled locally (no registry), to put the same binary on.

* distroless-like: what gcr.io/distroless/static holds, approximately: the CA
  bundle, /etc/passwd and /etc/group with root, nobody and nonroot (65532),
  /etc/nsswitch.conf, /etc/os-release, /tmp, /home/nonroot. No tzdata (the real
  image has it, about 0.5 MB more) and no dpkg status files.
* alpine-like: a static busybox with its applet links, the CA bundle and the
  same /etc files. The real alpine base (musl, dynamic busybox, apk, OpenSSL)
  is about 7-8 MB; this one is smaller and is labelled as an approximation.

Both are built with `docker import` from a tar stream made here.
"""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Callable
from typing import IO

from harness.docker import docker_client
from harness.golang_image import (
    BUSYBOX,
    CA_BUNDLE,
    add_busybox,
    add_dir,
    add_host_file,
    add_text,
)

PASSWD = """\
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
"""

GROUP = """\
root:x:0:
tty:x:5:
staff:x:50:
nobody:x:65534:
nonroot:x:65532:
"""

NSSWITCH = """\
passwd:         files
group:          files
shadow:         files
hosts:          files dns
networks:       files
protocols:      files
services:       files
ethers:         files
rpc:            files
"""


def os_release(name: str) -> str:
    """Return an /etc/os-release naming the approximation."""
    return f'PRETTY_NAME="{name} (approximation built for a benchmark)"\nNAME="{name}"\nID=benchmark\n'


def add_etc(tar: tarfile.TarFile, name: str) -> None:
    """Add the /etc files, /tmp, and the home directories both bases share."""
    for directory in ("etc", "etc/ssl", "etc/ssl/certs", "home"):
        add_dir(tar, directory)
    add_dir(tar, "root", mode=0o700)
    add_dir(tar, "tmp", mode=0o1777)
    home = tarfile.TarInfo("home/nonroot")
    home.type = tarfile.DIRTYPE
    home.mode = 0o700
    home.uid = home.gid = 65532
    tar.addfile(home)
    add_text(tar, "etc/passwd", PASSWD)
    add_text(tar, "etc/group", GROUP)
    add_text(tar, "etc/nsswitch.conf", NSSWITCH)
    add_text(tar, "etc/os-release", os_release(name))
    add_host_file(tar, "etc/ssl/certs/ca-certificates.crt", CA_BUNDLE)


def distroless_like(tar: tarfile.TarFile) -> None:
    """Fill the distroless-like root filesystem."""
    add_etc(tar, "distroless-like")


def alpine_like(tar: tarfile.TarFile) -> None:
    """Fill the alpine-like root filesystem."""
    add_dir(tar, "bin")
    add_busybox(tar)
    add_etc(tar, "alpine-like")


def import_base(tag: str, fill: Callable[[tarfile.TarFile], None]) -> str:
    """Stream a root filesystem into `docker import`; return the tag."""
    process = subprocess.Popen([docker_client(), "import", "-", tag], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    stream: IO[bytes] | None = process.stdin
    if stream is None:
        raise RuntimeError("no pipe to docker import")
    try:
        with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            fill(tar)
    finally:
        stream.close()
    if process.wait() != 0:
        raise RuntimeError(f"docker import of {tag} failed (exit status {process.returncode})")
    return tag


def import_runtimes(prefix: str) -> dict[str, str]:
    """Build both bases; return their tags by key."""
    if not BUSYBOX.is_file():
        raise RuntimeError(f"{BUSYBOX} is missing: install busybox-static")
    return {
        "distroless": import_base(f"{prefix}-distroless-like", distroless_like),
        "alpine": import_base(f"{prefix}-alpine-like", alpine_like),
    }
