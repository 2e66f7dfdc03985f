"""The daily loop of a generated project, run for real: make fmt, make cover, make dev, and .env.

`make fmt` rewrites the project's own Go (never vendor/); `make cover` writes coverage.out and prints
the total, and `make clean` removes it. `make dev` runs air at the release tools/air pins: the service
answers, an edit of handlers.go is rebuilt and served within a bounded wait, and Ctrl-C (SIGINT to the
process group) stops air and the service, leaving no process and no build folder behind; a postgres
project's `make migrate` and `make dev` reach the database .env names and serve the notes. `.env` is
read by build/lib.sh as data (never by make): the environment and make's command line win over it,
and `.env.example` lists every variable the service reads. (`make up` and `make down`, which need
Docker, are proven in test_compose.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from harness.answers import SLUG
from harness.loopback import free_port, listening, request
from harness.notes import create_note, read_note
from harness.postgres import PostgresServer, service_env
from harness.project import Bake
from harness.tools import make, require_tool, run
from harness.waiting import wait_for

pytestmark = [pytest.mark.xdist_group("daily-loop")]

AIR = "github.com/air-verse/air"
AIR_VERSION = "v1.67.4"


# --- make fmt and make cover -----------------------------------------------------------------------


def test_fmt_rewrites_the_projects_go_and_never_vendor(bake: Bake) -> None:
    """`make fmt` gofmt-s the project's files in place and lists them; a vendored file stays as it was."""
    project = bake(prometheus_metrics=True, vendor_dependencies=True)
    handlers = project / "handlers.go"
    handlers.write_text(handlers.read_text(encoding="utf-8").replace("\t", "    ", 3), encoding="utf-8")
    vendored = project / "vendor" / "github.com" / "prometheus" / "client_golang" / "prometheus" / "counter.go"
    unformatted = vendored.read_text(encoding="utf-8") + "\nvar   fmtProbe   =   1\n"
    vendored.write_text(unformatted, encoding="utf-8")

    ran = make(project, "fmt")
    code, output = ran.returncode, ran.output
    assert code == 0, output
    assert "./handlers.go" in output.splitlines(), output
    assert not [line for line in output.splitlines() if line.startswith("./vendor/")], output
    assert run([require_tool("gofmt"), "-l", "handlers.go", "main.go", "internal"], cwd=project).strip() == ""
    assert vendored.read_text(encoding="utf-8") == unformatted


@pytest.mark.slow
def test_cover_writes_coverage_out_prints_the_total_and_clean_removes_it(bake: Bake) -> None:
    """`make cover` runs the tests with a coverage profile and ends with the total; `make clean` deletes it."""
    project = bake()
    ran = make(project, "cover")
    code, output = ran.returncode, ran.output
    assert code == 0, output
    last = output.strip().splitlines()[-1]
    assert re.fullmatch(r"total:\s+\(statements\)\s+\d+(\.\d+)?%", last), last
    assert (project / "coverage.out").read_text(encoding="utf-8").startswith("mode: ")
    assert make(project, "clean").returncode == 0
    assert not (project / "coverage.out").exists()


# --- .env ------------------------------------------------------------------------------------------


def service_variables(project: Path) -> set[str]:
    """Every variable the service's Go code reads with getenv("NAME")."""
    names: set[str] = set()
    for path in project.glob("*.go"):
        names |= set(re.findall(r'getenv\("([A-Z_]+)"\)', path.read_text(encoding="utf-8")))
    return names


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"prometheus_metrics": True, "opentelemetry": True, "database": "postgres", "api": "openapi"},
    ],
    ids=["default", "every-option"],
)
def test_env_example_lists_every_variable_the_service_reads(bake: Bake, answers: dict[str, object]) -> None:
    """.env.example sets each variable config.go reads (OTEL_* pointed to with tracing); git and docker ignore .env."""
    project = bake(**answers)
    example = (project / ".env.example").read_text(encoding="utf-8")
    assigned = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))
    read = service_variables(project)
    assert {"LISTEN_ADDRESS", "PORT", "LOG_LEVEL", "SHUTDOWN_DELAY", "SHUTDOWN_TIMEOUT"} <= read
    pointed = {name for name in read if name.startswith("OTEL_") and f"{name}=" in example}  # the SDK's, commented
    assert read <= assigned | pointed, read - assigned - pointed
    assert ("METRICS_PORT" in assigned) == bool(answers.get("prometheus_metrics"))
    assert ("DATABASE_URL" in assigned) == (answers.get("database") == "postgres")
    assert ("OTEL_EXPORTER_OTLP_ENDPOINT" in example) == bool(answers.get("opentelemetry"))
    assert ".env" in (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
    run(["git", "init", "--quiet"], cwd=project)
    (project / ".env").write_text("PORT=1\n", encoding="utf-8")
    assert run(["git", "check-ignore", ".env"], cwd=project).strip() == ".env"
    assert subprocess.run(["git", "check-ignore", "--quiet", ".env.example"], cwd=project, check=False).returncode == 1


def load_env(project: Path, env_file: str, environment: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Source the project's build/lib.sh and run load_env on the file, printing what results, as go.sh does."""
    script = 'source build/lib.sh; load_env .env; printf "%s|%s|%s|%s\\n" "$A" "$B" "$C" "$PORT"'
    (project / ".env").write_text(env_file, encoding="utf-8")
    return subprocess.run(
        ["bash", "-o", "errexit", "-o", "nounset", "-o", "pipefail", "-c", script],
        cwd=project,
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_env_file_values_are_data_and_the_environment_wins(bake: Bake, tmp_path: Path) -> None:
    """Values are taken as written (quotes removed, nothing run or expanded); a set variable keeps its value."""
    project = bake()
    marker = tmp_path / "ran"
    env_file = (
        "# a comment\n\n"
        f"A=$(touch {marker})`touch {marker}`$HOME\n"
        "export B='single quoted #1'\n"
        'C="from the file"\r\n'
        "PORT=9000\n"
    )
    result = load_env(project, env_file, {"C": "from the environment", "PORT": "8080"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"$(touch {marker})`touch {marker}`$HOME|single quoted #1|from the environment|8080\n"
    assert not marker.exists()
    # PORT from the Makefile's default (ENV_FILE_MAY_SET) gives way to the file's.
    result = load_env(project, env_file, {"C": "x", "PORT": "8080", "ENV_FILE_MAY_SET": "PORT"})
    assert result.stdout.endswith("|x|9000\n"), result.stdout + result.stderr


def test_env_file_with_a_bad_line_is_refused_by_its_number_only(bake: Bake) -> None:
    """A line that is not NAME=VALUE stops with one line naming the file and the line's number, not its text."""
    project = bake()
    result = load_env(project, "A=1\nnot a s3cret line\n", {})
    assert result.returncode == 2
    assert result.stderr == "error: .env, line 2: want NAME=VALUE, a blank line or a # comment\n"


def test_make_run_reads_env_and_its_command_line_wins(bake: Bake, tmp_path: Path) -> None:
    """`make run` takes PORT from .env over the Makefile's default, checks it as data, and PORT= on the line wins."""
    project = bake()
    marker = tmp_path / "ran"
    (project / ".env").write_text(f"PORT=$(touch {marker})\n", encoding="utf-8")
    ran = make(project, "run")
    code, output = ran.returncode, ran.output
    assert code == 2, output
    assert f'error: PORT="$(touch {marker})" is not allowed' in output
    assert not marker.exists()
    ran = make(project, "run", "PORT=none")
    code, output = ran.returncode, ran.output
    assert (code, 'error: PORT="none" is not allowed' in output) == (2, True), output


# --- make dev --------------------------------------------------------------------------------------


def session_processes(session: int) -> list[str]:
    """The command lines of every process still in the session (make dev's, started with setsid)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session:  # state, ppid, pgrp, session
            found.append(cmdline.strip())
    return found


def greeting(port: int) -> str | None:
    """The name GET / answers with, or None while nothing answers."""
    try:
        reply = request(port, "/", timeout=2)
    except OSError:
        return None
    return json.loads(reply.body)["name"] if reply.status == 200 else None


def test_air_is_pinned_in_a_tool_module_of_its_own(bake: Bake) -> None:
    """tools/air/go.mod names air in a tool directive at the pinned release, tidy; .air.toml builds into bin/."""
    project = bake()
    go_mod = (project / "tools" / "air" / "go.mod").read_text(encoding="utf-8")
    assert f"tool {AIR}\n" in go_mod
    assert f"\t{AIR} {AIR_VERSION} // indirect\n" in go_mod
    run([require_tool("go"), "mod", "tidy", "-diff"], cwd=project / "tools" / "air")
    air = (project / ".air.toml").read_text(encoding="utf-8")
    assert 'tmp_dir = "bin/air"' in air
    assert '"vendor"' in air
    assert "-X main.version=$VERSION" in air


@pytest.mark.parametrize(("busy_seconds", "code"), [(0.5, 0), (4, 2)], ids=["busy-briefly", "busy-too-long"])
def test_a_tool_binary_busy_for_a_moment_is_run_once_it_is_free(
    bake: Bake, tmp_path: Path, busy_seconds: float, code: int
) -> None:
    """run_tool (build/lib.sh) retries an exec that fails with "Text file busy", as a tool just built may be.

    `make dev`, `make lint` and the API gate run the tools that Go writes into its build cache through it.
    Control: a binary still open for writing after 2s is refused in one line.
    """
    project = bake()
    tool = tmp_path / "tool"
    shutil.copy2(require_tool("echo"), tool)
    with tool.open("ab"):  # open for writing, as by a process that forked while Go wrote the file
        ran = subprocess.Popen(
            ["bash", "-c", 'source build/lib.sh && run_tool "$0" ran', str(tool)],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(busy_seconds)
    out, err = ran.communicate(timeout=30)
    assert ran.returncode == code, err
    *tries, last = err.splitlines() or [""]
    assert tries, "the binary was never busy: the test proves nothing"
    assert all(line.endswith(f"{tool}: Text file busy") or line.endswith(": Success") for line in tries), tries
    if code == 0:
        assert (out, last.endswith(": Success")) == ("ran\n", True), err  # bash's line for each failed exec
    else:
        assert last == f"error: could not run {tool} (10 tries)"


@pytest.mark.slow
@pytest.mark.parametrize("database", ["none", "postgres"])
def test_dev_serves_rebuilds_on_an_edit_and_stops_cleanly(
    bake: Bake, request: pytest.FixtureRequest, database: str
) -> None:
    """`make dev` serves with .env's settings, serves an edit of handlers.go, and stops on SIGINT.

    With postgres, .env names a database of the test server (as .env.example names compose's, which
    `make up` starts): `make migrate` and `make dev` reach it, and the notes are served before and after the edit.
    """
    project = bake(database=database)
    port = free_port()
    settings = f"LISTEN_ADDRESS=127.0.0.1\nPORT={port}\n"
    if database == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        settings += "".join(f"{name}={value}\n" for name, value in service_env(server.create_database()).items())
    (project / ".env").write_text(settings, encoding="utf-8")
    if database == "postgres":
        migrated = make(project, "migrate")
        assert migrated.returncode == 0, migrated.output
    log = project.parent / "make-dev.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [require_tool("make"), "dev"],
            cwd=project,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # The first run builds air itself through the module proxy's cache, then the service.
        assert wait_for(lambda: greeting(port) == SLUG, timeout=300, interval=0.2), log.read_text()
        listening_lines = [
            json.loads(line) for line in log.read_text().splitlines() if line.startswith("{") and '"listening"' in line
        ]
        assert [entry["addr"] for entry in listening_lines] == [f"127.0.0.1:{port}"]
        if database == "postgres":
            assert create_note(port, "before the edit").status == 201

        handlers = project / "handlers.go"
        text = handlers.read_text(encoding="utf-8")
        assert f'const serviceName = "{SLUG}"' in text
        handlers.write_text(text.replace(f'const serviceName = "{SLUG}"', 'const serviceName = "edited"'), "utf-8")
        assert wait_for(lambda: greeting(port) == "edited", timeout=120, interval=0.2), log.read_text()
        if database == "postgres":
            assert read_note(port, 1).json() == {"id": 1, "text": "before the edit"}

        start = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
        assert process.wait(timeout=30) is not None
        assert time.monotonic() - start < 30
        assert wait_for(lambda: not session_processes(process.pid), timeout=10), session_processes(process.pid)
        assert not listening(port)
        assert not (project / "bin" / "air").exists()
        stopped = [line for line in log.read_text().splitlines() if '"msg":"stopped"' in line]
        # The first build stopped gracefully at the restart. The second stops at SIGINT too, but its last line
        # may be lost: air, which relays its output, can exit first (the port is closed either way, above).
        assert stopped, log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
