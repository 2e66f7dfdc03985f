"""A PostgreSQL image assembled from this machine's Debian packages, for compose and the cluster.

Nothing can be pulled here, so the tests that run a generated project's ``compose.yaml`` (and the
PostgreSQL pod on the cluster) use an image built, like harness/golang_image.py's stand-in, with
``docker import`` of a root filesystem streamed as a tar: Debian's PostgreSQL server programs
(``postgres``, ``initdb``, ``pg_isready``, ``psql``), the libraries that ``ldd`` says they load,
the server's modules and share directory, the system time zones, busybox-static for the
entrypoint's shell, and a non-root ``postgres`` user (999, as in the official image).

It honours the part of the official ``postgres`` image's contract that the generated compose file
and manifests rely on: ``POSTGRES_PASSWORD`` (required), ``POSTGRES_USER`` (default ``postgres``),
``POSTGRES_DB`` (default the user), ``PGDATA`` (default ``/var/lib/postgresql/data``, initialised on
first start), port 5432 on every address with password (scram-sha-256) authentication, and
``pg_isready`` on PATH for the healthcheck. It runs as user 999 from the start (the official image
starts as root and steps down), so a volume must be writable by 999 (a Docker named volume is: it
takes the image's ownership of the directory).

It never carries the official name: it is tagged ``go-scratch-service/postgresql-standin:<major>``
and labelled with the Debian package's version, and is rebuilt only when that version changes.
Run ``python -m harness.postgres_image`` to build it and print its tag.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from harness.docker import docker_client, import_rootfs
from harness.golang_image import add_busybox, add_dir, add_host_file, add_symlink, add_text

STANDIN_REPOSITORY = "go-scratch-service/postgresql-standin"
POSTGRES_ROOT = Path("/usr/lib/postgresql")
SHARE_ROOT = Path("/usr/share/postgresql")
ZONEINFO = Path("/usr/share/zoneinfo")
PROGRAMS = ("postgres", "initdb", "pg_ctl", "pg_isready", "psql")
# Server modules left out: JIT (pulls in all of LLVM; PostgreSQL runs without it) and SELinux labels.
MODULES_OMITTED = frozenset({"llvmjit.so", "sepgsql.so"})
UID = GID = 999  # the official image's postgres user
VERSION_LABEL = "org.opencontainers.image.version"

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/sh
"""

GROUP = """\
root:x:0:
postgres:x:999:
"""

ENTRYPOINT = r"""#!/bin/sh
# Initialise an empty data directory as the official postgres image does for POSTGRES_PASSWORD,
# POSTGRES_USER and POSTGRES_DB, then run the server on every address (port 5432).
set -eu
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
  echo "docker-entrypoint.sh: error: POSTGRES_PASSWORD is not set; set it to the superuser's password" >&2
  exit 1
fi
user="${POSTGRES_USER:-postgres}"
database="${POSTGRES_DB:-$user}"
mkdir -p "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  password_file="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
  initdb --username="$user" --pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C -D "$PGDATA" >/dev/null
  rm -f "$password_file"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$database" != postgres ]; then
    quoted="$(printf '%s' "$database" | sed 's/"/""/g')"
    echo "CREATE DATABASE \"$quoted\";" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "docker-entrypoint.sh: initialised $PGDATA: user $user, database $database"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
"""


# --- What Debian installed -------------------------------------------------------


def installed_major() -> str:
    """The major version of Debian's PostgreSQL server here, e.g. "15" (the only one under /usr/lib/postgresql)."""
    majors = sorted(path.name for path in POSTGRES_ROOT.glob("*") if (path / "bin" / "postgres").is_file())
    if not majors:
        raise RuntimeError(f"no PostgreSQL server under {POSTGRES_ROOT}: install Debian's postgresql package")
    return majors[-1]


def package_version(major: str) -> str:
    """The Debian version of postgresql-<major>, e.g. "15.18-0+deb12u1"."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", f"postgresql-{major}"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def image_tag(major: str) -> str:
    """Name the image: never the official name."""
    return f"{STANDIN_REPOSITORY}:{major}"


LDD_LINE = re.compile(r"(?:=> )?(/\S+) \(0x[0-9a-f]+\)")


def shared_libraries(elf: Path) -> set[Path]:
    """The shared libraries (and the loader) that ldd says elf loads, as absolute paths."""
    result = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, check=False)
    if "not found" in result.stdout:
        raise RuntimeError(f"ldd {elf}: a library is missing:\n{result.stdout}")
    return {Path(match.group(1)) for match in LDD_LINE.finditer(result.stdout)}


def server_files(major: str) -> Iterator[Path]:
    """The programs and server modules of the image, host paths kept as image paths."""
    for name in PROGRAMS:
        yield POSTGRES_ROOT / major / "bin" / name
    for module in sorted((POSTGRES_ROOT / major / "lib").glob("*.so")):
        if module.name not in MODULES_OMITTED:
            yield module


def tree(root: Path, *, omitted: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Every path under root (root included), top-down and sorted, skipping top-level names in omitted."""
    yield root
    for path in sorted(root.rglob("*")):
        if path.relative_to(root).parts[0] not in omitted:
            yield path


# --- The root filesystem ------------------------------------------------------------


def add_parents(tar: tarfile.TarFile, path: Path, added: set[str]) -> None:
    """Add the directories above an image path (root-owned), once each."""
    for parent in reversed(path.parents[:-1]):
        name = parent.as_posix().lstrip("/")
        if name not in added:
            add_dir(tar, name)
            added.add(name)


def add_host_path(tar: tarfile.TarFile, path: Path, added: set[str], *, follow: bool = False) -> None:
    """Add a host file, directory or symlink (its target's content when follow) at the same path in the image."""
    name = path.as_posix().lstrip("/")
    if name in added:
        return
    add_parents(tar, path, added)
    if path.is_symlink() and not follow:
        add_symlink(tar, name, str(path.readlink()))
    elif path.is_dir():
        add_dir(tar, name)
    else:
        add_host_file(tar, name, path)
    added.add(name)


def add_owned_dir(tar: tarfile.TarFile, name: str, mode: int) -> None:
    """Add a directory owned by the postgres user."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.uid, info.gid, info.uname, info.gname = UID, GID, "postgres", "postgres"
    tar.addfile(info)


def write_rootfs(stream: IO[bytes], major: str) -> None:
    """Write the whole root filesystem as an uncompressed tar stream."""
    added: set[str] = set()
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for name in ("bin", "etc", "usr", "usr/local", "usr/local/bin", "var", "var/lib", "var/run"):
            add_dir(tar, name)
            added.add(name)
        add_dir(tar, "tmp", mode=0o1777)
        add_text(tar, "etc/passwd", PASSWD)
        add_text(tar, "etc/group", GROUP)
        add_busybox(tar)
        add_text(tar, "usr/local/bin/docker-entrypoint.sh", ENTRYPOINT, mode=0o755)
        programs = list(server_files(major))
        libraries = sorted({library for program in programs for library in shared_libraries(program)})
        for path in [*programs, *libraries]:
            add_host_path(tar, path, added, follow=True)  # ldd names libraries by their links: copy the content
        for path in tree(SHARE_ROOT / major, omitted=frozenset({"man"})):
            add_host_path(tar, path, added)
        for path in tree(ZONEINFO):
            add_host_path(tar, path, added)
        add_owned_dir(tar, "var/lib/postgresql", 0o755)
        add_owned_dir(tar, "var/lib/postgresql/data", 0o700)
        add_owned_dir(tar, "var/run/postgresql", 0o2775)


# --- The image -------------------------------------------------------------------------


def image_changes(major: str, version: str) -> list[str]:
    """Dockerfile instructions that `docker import --change` applies."""
    description = f"PostgreSQL {major} from Debian's postgresql-{major} {version}, assembled on the build machine"
    return [
        f"ENV PATH=/usr/lib/postgresql/{major}/bin:/usr/local/bin:/usr/bin:/bin",
        "ENV PGDATA=/var/lib/postgresql/data",
        f"ENV PG_MAJOR={major}",
        "EXPOSE 5432",
        f"USER {UID}:{GID}",
        "WORKDIR /var/lib/postgresql",
        'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]',
        f'LABEL org.opencontainers.image.description="{description}"',
        f"LABEL {VERSION_LABEL}={version}",
    ]


def built_version(docker: str, tag: str) -> str | None:
    """The Debian version the image under tag was built from; None when there is no such image."""
    result = subprocess.run(
        [docker, "image", "inspect", "--format", f'{{{{index .Config.Labels "{VERSION_LABEL}"}}}}', tag],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_postgres_image() -> str:
    """Build the image from Debian's PostgreSQL unless one of this package version exists; return its tag."""
    docker = docker_client()
    major = installed_major()
    version = package_version(major)
    tag = image_tag(major)
    if built_version(docker, tag) != version:
        import_rootfs(docker, tag, image_changes(major, version), lambda stream: write_rootfs(stream, major))
    return tag


if __name__ == "__main__":
    print(ensure_postgres_image())
