"""The database path: GET /notes/{id} through the generated service against a bare pgx program.

A postgres project is baked and built on the host, and so is bench/barepgx (the same query, sqlc's
GetNote, on a bare pgxpool, built inside a copy of that project so that it runs the same pgx).
Both run against one real PostgreSQL on loopback (Debian's server, harness/postgres.py) holding
one note, under the same wrk load as the service benchmark, side by side in one run, each with
pgxpool's default pool (MaxConns = max(4, cores)) and with a pool as large as wrk's connections
(`pool_max_conns` in DATABASE_URL), which shows what the default costs or saves.

Also measured: `-migrate` on an empty database and again when up to date, and how long /readyz
takes to answer 200 again after the database comes back (stopped and started on its port).

    .venv/bin/python -m bench.database            # prints this section alone; about four minutes
    .venv/bin/python -m bench.database --rounds 1 --wrk-seconds 3 --migrations 5   # quicker; more migrations
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BENCH_DIR, TEMPLATE_DIR, BenchError, bake, project_answers, timed
from bench.serving import WRK_CONNECTIONS, Server, measure_throughput
from harness.build import build_binary
from harness.loopback import answers
from harness.postgres import PostgresServer, running_postgres, service_env
from harness.process import start_service
from harness.waiting import wait_for

BARE_SOURCE = BENCH_DIR / "barepgx" / "main.go"
DEFAULT_MAX_CONNS = max(4, os.cpu_count() or 1)  # pgxpool's default: the larger of 4 and runtime.NumCPU()
TUNED_MAX_CONNS = WRK_CONNECTIONS  # one connection per wrk connection: no request waits for the pool


@dataclass
class DatabaseFigures:
    """What the database benchmark measured."""

    servers: dict[str, Server]
    postgres: str  # the server's version
    migrate_fresh: list[float] = field(default_factory=list)  # seconds of -migrate on an empty database
    migrate_again: list[float] = field(default_factory=list)  # seconds of -migrate when up to date
    readiness_lost: list[float] = field(default_factory=list)  # database stopped -> /readyz 503
    readiness_back: list[float] = field(default_factory=list)  # database accepting again -> /readyz 200
    wrk_seconds: float = 0.0


def build_bare(project: Path, output: Path) -> Path:
    """Build bench/barepgx inside a copy of the generated project (its go.mod and go.sum, so its pgx)."""
    module = output.parent / "barepgx-module"
    shutil.copytree(project, module)
    (module / "cmd" / "barepgx").mkdir(parents=True)
    shutil.copy(BARE_SOURCE, module / "cmd" / "barepgx" / "main.go")
    command = ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(output), "./cmd/barepgx"]
    result = subprocess.run(
        command, cwd=module, env={**os.environ, "CGO_ENABLED": "0"}, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BenchError(f"`{' '.join(command)}` exited {result.returncode}:\n{result.stderr}")
    return output


def migrate(binary: Path, url: str) -> float:
    """Run the service's -migrate against url; return its seconds."""

    def run() -> None:
        result = subprocess.run(
            [str(binary), "-migrate"], env=service_env(url), capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise BenchError(f"-migrate exited {result.returncode}:\n{result.stderr}{result.stdout}")

    _, seconds = timed(run)
    return seconds


def with_pool(url: str, max_conns: int) -> str:
    """The URL with pgxpool's pool_max_conns set."""
    return f"{url}&pool_max_conns={max_conns}"


def make_servers(service: Path, bare: Path, url: str, note: int) -> dict[str, Server]:
    """The four servers: bare pgx and the service, each with the default pool and with a tuned one."""
    path = f"/notes/{note}"
    tuned = with_pool(url, TUNED_MAX_CONNS)
    return {
        "bare": Server(
            "bare",
            f"bare pgx, default pool ({DEFAULT_MAX_CONNS}) (floor)",
            bare,
            "/readyz",
            service_env(url),
            path,
        ),
        "service": Server(
            "service",
            f"generated service, default pool ({DEFAULT_MAX_CONNS})",
            service,
            "/readyz",
            service_env(url),
            path,
        ),
        "bare-tuned": Server(
            "bare-tuned", f"bare pgx, pool_max_conns={TUNED_MAX_CONNS}", bare, "/readyz", service_env(tuned), path
        ),
        "service-tuned": Server(
            "service-tuned",
            f"generated service, pool_max_conns={TUNED_MAX_CONNS}",
            service,
            "/readyz",
            service_env(tuned),
            path,
        ),
    }


def measure_recovery(binary: Path, database: PostgresServer, url: str, figures: DatabaseFigures, rounds: int) -> None:
    """Stop and start the database under a running service: time to /readyz 503, and back to 200."""
    service = start_service(binary, env=service_env(url), keep_output=False)
    try:
        for _ in range(rounds):
            stopped = time.monotonic()
            database.stop()
            if not wait_for(lambda: answers(service.port, "/readyz", 503), timeout=30, interval=0.01):
                raise BenchError("/readyz did not answer 503 within 30 s of the database stopping")
            figures.readiness_lost.append(time.monotonic() - stopped)
            database.start()  # returns once the server accepts connections
            back = time.monotonic()
            if not wait_for(lambda: answers(service.port, "/readyz", 200), timeout=30, interval=0.01):
                raise BenchError("/readyz did not answer 200 within 30 s of the database starting again")
            figures.readiness_back.append(time.monotonic() - back)
    finally:
        service.kill()


def measure_database(workdir: Path, rounds: int, wrk_seconds: float, migrations: int = 3) -> DatabaseFigures:
    """Bake and build both programs, then measure them against one PostgreSQL on loopback."""
    project = bake(TEMPLATE_DIR, workdir / "database", project_answers(database="postgres"))
    service = build_binary(project, workdir / "notes-server")
    bare = build_bare(project, workdir / "barepgx-server")
    with running_postgres() as database:
        figures = DatabaseFigures({}, database.query("SHOW server_version"), wrk_seconds=wrk_seconds)
        for _ in range(migrations):
            url = database.create_database("migrate")
            figures.migrate_fresh.append(migrate(service, url))
            figures.migrate_again.append(migrate(service, url))
        url = database.create_database("bench")
        migrate(service, url)
        name = url.rsplit("/", 1)[1].split("?")[0]
        stored = (
            "WITH stored AS (INSERT INTO notes (text) VALUES ('benchmark note') RETURNING id) SELECT id FROM stored"
        )
        note = int(database.query(stored, name))
        figures.servers = make_servers(service, bare, url, note)
        measure_throughput(list(figures.servers.values()), rounds, wrk_seconds)
        measure_recovery(service, database, url, figures, migrations)
    return figures


def main() -> int:
    """Measure the database path alone and print its section."""
    parser = argparse.ArgumentParser(prog="python -m bench.database", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5, help="wrk runs per server (default 5)")
    parser.add_argument("--wrk-seconds", type=float, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument(
        "--migrations", type=int, default=3, help="rounds of -migrate and of readiness recovery (default 3)"
    )
    args = parser.parse_args()
    from bench.report import database_section  # the report imports this module: import it only to print

    with tempfile.TemporaryDirectory(prefix="bench-database-") as tmp:
        figures = measure_database(Path(tmp), args.rounds, args.wrk_seconds, args.migrations)
    print("\n".join(database_section(figures)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
