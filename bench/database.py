"""The database path's timings, against Debian's PostgreSQL on loopback: migrations and readiness recovery.

    .venv/bin/python -m bench.database            # from the repository root; about a minute
    .venv/bin/python -m bench.database --rounds 3

Migration: `-migrate` of the postgres project's binary on an empty database (every migration), then
on an up-to-date one (nothing to apply). Readiness recovery: the database is stopped under the
service, then started; the time from the server accepting connections again to /readyz answering
200, with no restart of the service. Figures are medians over the rounds; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import TEMPLATE_DIR, bake, median, project_answers
from harness.build import build_binary
from harness.loopback import answers
from harness.postgres import PostgresServer, running_postgres
from harness.process import running_service
from harness.waiting import wait_for


def migrate_seconds(binary: Path, url: str) -> float:
    """Seconds one `-migrate` run takes (process start to exit)."""
    start = time.monotonic()
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url}
    subprocess.run([binary, "-migrate"], env=env, capture_output=True, timeout=120, check=True)
    return time.monotonic() - start


def recovery_seconds(binary: Path, server: PostgresServer, url: str) -> float:
    """Seconds from the database accepting connections again to /readyz answering 200, in the same process."""
    with running_service(binary, env={"DATABASE_URL": url}) as service:
        server.stop()
        if not wait_for(lambda: answers(service.port, "/readyz", 503), timeout=10):
            raise RuntimeError("/readyz did not turn 503 with the database stopped")
        server.start()  # returns once the server accepts connections (pg_ctl -w)
        started = time.monotonic()
        if not wait_for(lambda: answers(service.port, "/readyz", 200), timeout=30, interval=0.005):
            raise RuntimeError("/readyz did not come back within 30s")
        recovered = time.monotonic() - started
        if not service.running():
            raise RuntimeError("the service exited")
        return recovered


def main() -> int:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-database-") as tmp:
        project = bake(TEMPLATE_DIR, Path(tmp), project_answers(database="postgres"))
        binary = build_binary(project, Path(tmp) / "service")
        with running_postgres() as server:
            fresh, current, recovery = [], [], []
            for _ in range(args.rounds):
                url = server.create_database("bench")
                fresh.append(migrate_seconds(binary, url))
                current.append(migrate_seconds(binary, url))
                recovery.append(recovery_seconds(binary, server, url))
    print(f"-migrate, empty database (2 migrations): {median(fresh) * 1000:.0f} ms (median of {args.rounds})")
    print(f"-migrate, up to date:                    {median(current) * 1000:.0f} ms")
    print(f"/readyz back to 200 after the database:  {median(recovery) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
