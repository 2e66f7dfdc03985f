"""A real PostgreSQL server for the tests: Debian's `postgresql` package, on loopback, in a temporary folder.

The server refuses to run as root, so as root it runs as the `postgres` user (through runuser),
otherwise as the current user. It listens on 127.0.0.1 only, on a free port, with its socket in
its own folder, and trusts local connections (a throwaway server: nothing but the tests reach it).
It can be stopped and started again on the same port, as a database that goes away and comes back.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.loopback import LOOPBACK, free_port
from harness.tls import Issued

SERVER_USER = "postgres"  # Debian's package creates it; the server refuses root
SUPERUSER = "postgres"  # the role initdb creates, whoever runs it
INSTALL_HINT = "install Debian's postgresql package (bash scripts/install-unit.sh as root does)"


class PostgresError(RuntimeError):
    """The server could not be found, initialised, started or stopped."""


def server_bin_dir() -> Path:
    """The newest Debian PostgreSQL's bin folder (/usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise PostgresError(f"no /usr/lib/postgresql/*/bin/postgres: {INSTALL_HINT}")
    return Path(found[-1]).parent


def available() -> bool:
    """Whether Debian's PostgreSQL server is installed."""
    return bool(glob.glob("/usr/lib/postgresql/*/bin/postgres"))


def as_server_user() -> list[str]:
    """The command prefix that runs a server command as a user the server accepts."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", SERVER_USER, "--"]


@dataclass
class PostgresServer:
    """One PostgreSQL server: its folder, port and URL; stop() and start() keep both."""

    directory: Path
    port: int = field(default_factory=free_port)
    bin_dir: Path = field(default_factory=server_bin_dir)
    tls: Issued | None = None  # the server's certificate and key: TLS on (ssl=on), or off

    @property
    def data(self) -> Path:
        """The cluster's data folder."""
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        """A libpq URL of a database on this server (TLS off: loopback only)."""
        return f"postgres://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}?sslmode=disable"

    def _run(self, *command: str, timeout: float = 60) -> str:
        """Run a server program as the server's user; raise with its output when it fails."""
        argv = [*as_server_user(), str(self.bin_dir / command[0]), *command[1:]]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise PostgresError(f"`{' '.join(argv)}` exited {result.returncode}:\n{result.stdout}{result.stderr}")
        return result.stdout

    def initialise(self) -> None:
        """Create the cluster: trust authentication, UTF-8, no fsync (durability is not under test).

        With tls, the certificate and key go next to it, the key readable by the server's user alone.
        """
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        if self.tls:
            for path in self.tls.write(self.directory, "server"):
                if os.geteuid() == 0:
                    user = pwd.getpwnam(SERVER_USER)
                    os.chown(path, user.pw_uid, user.pw_gid)

    def start(self) -> None:
        """Start the server on its port and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses={LOOPBACK} -c fsync=off"
        if self.tls:
            certificate, key = self.directory / "server.crt", self.directory / "server.key"
            options += f" -c ssl=on -c ssl_cert_file={certificate} -c ssl_key_file={key}"
        log = self.directory / "server.log"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "-t", "60", "start", timeout=90)

    def stop(self) -> None:
        """Stop the server at once (fast mode: open sessions are ended) and wait until it is down."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop", timeout=90)

    def running(self) -> bool:
        """Whether the server is up (pg_ctl status)."""
        argv = [*as_server_user(), str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "status"]
        return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode == 0

    def query(self, sql: str, database: str = "postgres") -> str:
        """Run SQL with psql and return its unaligned, tuples-only output."""
        argv = [str(self.bin_dir / "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-tA", "-d", self.url(database), "-c", sql]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise PostgresError(f"psql {sql!r} exited {result.returncode}:\n{result.stderr}")
        return result.stdout.strip()

    def create_database(self, prefix: str = "test") -> str:
        """Create a database of its own (for one test) and return its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.query(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        """The server's log so far."""
        path = self.directory / "server.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@dataclass(frozen=True)
class TlsPostgres:
    """A server with TLS on, its certificate (for 127.0.0.1) signed by ca, and a CA that signed none of it."""

    server: PostgresServer
    ca: Path
    other_ca: Path

    def url(self, database: str, sslmode: str, ca: Path | None = None) -> str:
        """A URL of database with sslmode, and sslrootcert=ca when given."""
        url = self.server.url(database).replace("sslmode=disable", f"sslmode={sslmode}")
        return f"{url}&sslrootcert={ca}" if ca else url


def service_env(url: str) -> dict[str, str]:
    """The environment that points a generated service at url, a database on a test server.

    The test servers have no TLS: the service refuses a connection that does not verify the server
    unless DATABASE_ALLOW_UNVERIFIED says the database is a local one (as compose.yaml and .env.example say).
    """
    return {"DATABASE_URL": url, "DATABASE_ALLOW_UNVERIFIED": "true"}


def owned_folder() -> Path:
    """A new folder the server's user owns, reachable by it (/tmp, not pytest's root-only folders)."""
    folder = Path(tempfile.mkdtemp(prefix="postgres-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        os.chown(folder, user.pw_uid, user.pw_gid)
    return folder


@contextlib.contextmanager
def running_postgres(port: int | None = None, tls: Issued | None = None) -> Iterator[PostgresServer]:
    """Initialise and start a server (on a free port, or the one given; TLS on with tls) for a with block.

    It is stopped and removed after.
    """
    server = PostgresServer(owned_folder(), port or free_port(), tls=tls)
    try:
        server.initialise()
        server.start()
        yield server
    finally:
        if server.data.exists() and server.running():
            server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
