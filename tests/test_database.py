"""The database option against a real PostgreSQL: the real binary on loopback, its migrations, readiness and shutdown.

Each test gets a database of its own on the session's server (harness/postgres.py), or a server of
its own when it stops and starts it. The image of every postgres combination (harness/project.py)
is built once and run in the images tier (marker docker).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from harness import elf
from harness.answers import NOBODY, SLUG
from harness.build import build_binary
from harness.docker import (
    HARDENED,
    build_image,
    container_inspect,
    container_logs,
    docker,
    exported_files,
    image_inspect,
    remove_container,
    remove_images,
    run_container,
    wait_for_log,
)
from harness.loopback import Reply, answers, free_port, request
from harness.notes import Call, NotesLoad, create_note, read_note
from harness.postgres import PostgresServer, TlsPostgres, service_env
from harness.process import running_service
from harness.project import COMBINATIONS, SHORT_NAMES, Bake, answers_id, bake_with, uses_postgres
from harness.template import CA_BUNDLE
from harness.tools import run
from harness.waiting import wait_for

MIGRATIONS = 2  # the skeleton's migrations/ files
QUERY_TIMEOUT = 2.0  # the generated service's queryTimeout (database.go)
# A request with the database down answers within QUERY_TIMEOUT; this leaves room for a busy machine.
HANG_BOUND = QUERY_TIMEOUT + 3


def database_name(url: str) -> str:
    """The database a URL names."""
    return urlsplit(url).path.lstrip("/")


def migrate(binary: Path, url: str, *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `binary -migrate` against url, a database of a test server (without TLS)."""
    return migrate_with(binary, service_env(url), timeout=timeout)


def migrate_with(binary: Path, env: dict[str, str], *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `binary -migrate` with env."""
    env = {"PATH": "/usr/bin:/bin", **env}
    return subprocess.run([binary, "-migrate"], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def applied_versions(server: PostgresServer, url: str) -> list[int]:
    """The migrations goose records as applied to url's database, in order."""
    rows = server.query("SELECT version_id FROM goose_db_version WHERE is_applied ORDER BY id", database_name(url))
    return [int(row) for row in rows.split()]


def migrated_database(server: PostgresServer, binary: Path) -> str:
    """A database of its own with the migrations applied; return its URL."""
    url = server.create_database()
    result = migrate(binary, url)
    assert result.returncode == 0, result.stderr
    return url


def statuses(calls: list[Call]) -> Counter[int | None]:
    """How many calls got each status (None: no complete response)."""
    return Counter(call.status for call in calls)


# --- Configuration and migrations ---------------------------------------------------------


# DATABASE_URL shapes whose password (always holding SECRET) a naive redaction lets through: an unescaped
# "@" that pgx splits into the host, spaces, "&", a backslash-escaped space, quotes, bad percent-encoding,
# a password in the query, a "/" or "?" that ends the host part early (the tail going to the database name
# or a parameter), the values pgx refuses outright, and sslmodes that do not verify the server.
REFUSED_DATABASE_URLS = [
    "postgres://app:Tr0ub4dor@3SECRET@db/app",
    "postgres://app:Tr0ub4dor@3SECRET@127.0.0.1:5432/app",
    "postgres://app:pass word SECRET@db/app",
    "postgres://app:SECRET@db:port/app",
    "mysql://app:SECRET@db/app",
    "postgres://app:SECRET@db/app?sslmode=sometimes",
    "postgres://app:SE%zzCRET@db/app",
    "postgres://app:SECRET@[::1/app",
    "postgres://db/app?password=SECRET&port=x",
    "host=db password=SECRET port=notaport",
    "host=db password='SE CRET' port=notaport",
    "host=db password=pa\\ SECRET port=x",
    "host=db@SECRET password=x",
    "host=db password=SE SECRET port=5432",
    "postgres://db/app?password=SE&SECRET",
    "postgres://app:5432/SECRET@db/app",
    "postgres://app:5432?TimeZone=SECRET@db/app",
    "postgres://app:SECRET@db/app?sslmode=disable",
    "host=db password=SECRET sslmode=require",
    "postgres://app:SECRET@db/app",
]
# Shapes pgx reads, with a password a pattern would cut short: the service starts, and /readyz, which
# logs why the database does not answer, must not show it either.
ACCEPTED_DATABASE_URLS = [
    "host=127.0.0.1 port={port} user=app password=a&SECRET dbname=app connect_timeout=1",
    "host=127.0.0.1 port={port} user=app password=pa\\ SECRET dbname=app connect_timeout=1",
    "host=127.0.0.1 port={port} user=app password='SE CRET' dbname=app connect_timeout=1",
    "postgres://app:Tr0ub4dor%403SECRET@127.0.0.1:{port}/app?connect_timeout=1",
    "postgres://app:pass%20word%20SECRET@127.0.0.1:{port}/app?connect_timeout=1",
]


def shows_password(output: str) -> bool:
    """Whether output holds any part of a test password."""
    return "SECRET" in output or "SE CRET" in output


@pytest.mark.parametrize("value", REFUSED_DATABASE_URLS)
def test_bad_database_url_is_one_line_naming_it_without_the_password(postgres_binary: Path, value: str) -> None:
    """A DATABASE_URL that pgx cannot read, or reads into a host name with "@", stops the service.

    It exits 2 with one line naming DATABASE_URL, built from what pgx parsed: never the value, so never its password.
    """
    result = subprocess.run(
        [postgres_binary], env={"DATABASE_URL": value}, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert "invalid configuration: DATABASE_URL" in line
    assert not shows_password(result.stderr + result.stdout)


@pytest.mark.parametrize("value", ACCEPTED_DATABASE_URLS)
def test_unreachable_database_logs_never_show_the_password(postgres_binary: Path, value: str) -> None:
    """With a database that never answers, startup and every /readyz log why, and never the password."""
    url = value.format(port=free_port())
    with running_service(postgres_binary, env=service_env(url), ready_path="/livez") as service:
        for _ in range(2):
            assert request(service.port, "/readyz").status == 503
        service.signal()
        service.wait(timeout=30)
    output = service.stdout.text() + service.stderr.text()
    assert "database not reachable yet" in output
    assert '"msg":"not ready"' in output
    assert not shows_password(output)


def test_missing_database_url_is_one_line(postgres_binary: Path) -> None:
    """Without DATABASE_URL the service does not start: one line says what to set."""
    result = subprocess.run([postgres_binary], env={}, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{SLUG}: invalid configuration: DATABASE_URL is not set: want a PostgreSQL URL such as "
        "postgres://USER@HOST:5432/DATABASE?sslmode=verify-full"
    ]


# --- Verified TLS: the server checked against a CA, or no connection --------------------------------

# Each sslmode that leaves the server unchecked, and the reason the one line gives.
UNVERIFIED_SSLMODES = {
    "disable": "it connects without TLS",
    "allow": "it connects without TLS",
    "prefer": "it falls back to a connection without TLS",
    "require": "it does not check the server's certificate",
}


@pytest.mark.parametrize("sslmode", UNVERIFIED_SSLMODES)
def test_unverified_sslmode_stops_the_service_in_one_line(
    postgres_binary: Path, tls_postgres: TlsPostgres, sslmode: str
) -> None:
    """An sslmode that does not check the server stops the service and -migrate (exit 2), even with TLS on."""
    url = tls_postgres.url(database_name(tls_postgres.server.create_database()), sslmode)
    for args in ([], ["-migrate"]):
        result = subprocess.run(
            [postgres_binary, *args], env={"DATABASE_URL": url}, capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.splitlines()
        assert f"DATABASE_URL does not verify the database server: {UNVERIFIED_SSLMODES[sslmode]}" in line, line
        assert "want sslmode=verify-full" in line, line
        assert "or DATABASE_ALLOW_UNVERIFIED=true for a local database" in line, line


def test_the_right_ca_connects_over_tls(postgres_binary: Path, tls_postgres: TlsPostgres) -> None:
    """verify-full with the CA that signed the server's certificate: it migrates and serves, every session in TLS."""
    database = database_name(tls_postgres.server.create_database())
    url = tls_postgres.url(database, "verify-full", tls_postgres.ca)
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url}
    migrated = subprocess.run([postgres_binary, "-migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    with running_service(postgres_binary, env={"DATABASE_URL": url}) as service:
        assert create_note(service.port, "over TLS").status == 201
        sessions = tls_postgres.server.query(
            f"SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = '{database}'"
        ).split()
        output = service.stdout.text()
    assert sessions, "no session of the service's"
    assert set(sessions) == {"t"}, sessions
    assert "not verified" not in output


@pytest.mark.parametrize("server", ["another CA", "no TLS"])
def test_an_unverifiable_server_is_refused(
    postgres_binary: Path, tls_postgres: TlsPostgres, postgres_server: PostgresServer, server: str
) -> None:
    """verify-full refuses a server whose certificate another CA signed, and a server without TLS: one clear line."""
    if server == "another CA":
        database = database_name(tls_postgres.server.create_database())
        url = tls_postgres.url(database, "verify-full", tls_postgres.other_ca)
        reason = "certificate signed by unknown authority"
    else:
        url = postgres_server.create_database().replace(
            "sslmode=disable", f"sslmode=verify-full&sslrootcert={tls_postgres.ca}"
        )
        reason = "server refused TLS connection"
    result = migrate_with(postgres_binary, {"DATABASE_URL": url})
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.splitlines()
    assert reason in line, line


def test_allowed_unverified_connection_is_logged(postgres_binary: Path, postgres_server: PostgresServer) -> None:
    """DATABASE_ALLOW_UNVERIFIED=true lets a local database without TLS through, with a warning saying so."""
    result = migrate_with(postgres_binary, service_env(postgres_server.create_database()))
    assert result.returncode == 0, result.stderr
    (warning,) = [line for line in result.stdout.splitlines() if "not verified" in line]
    assert json.loads(warning)["level"] == "WARN"
    assert "it connects without TLS" in warning


def test_migrate_exits_zero_also_when_up_to_date(postgres_binary: Path, postgres_server: PostgresServer) -> None:
    """`-migrate` applies every migration and exits 0; run again, it applies nothing and exits 0."""
    url = postgres_server.create_database()
    first, second = migrate(postgres_binary, url), migrate(postgres_binary, url)
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert first.stdout.count('"msg":"migration applied"') == MIGRATIONS
    assert '"msg":"migration applied"' not in second.stdout
    assert f'"msg":"migrations up to date","version":{MIGRATIONS},"applied":0' in second.stdout
    assert applied_versions(postgres_server, url) == list(range(MIGRATIONS + 1))


def test_three_migrators_at_once_apply_each_migration_once(
    postgres_binary: Path, postgres_server: PostgresServer
) -> None:
    """Three `-migrate` processes started together all exit 0, and goose's table records each migration once."""
    url = postgres_server.create_database()
    env = {"PATH": "/usr/bin:/bin", **service_env(url)}
    processes = [
        subprocess.Popen([postgres_binary, "-migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], [err for _, err in outputs]
    applied = sum(out.decode().count('"msg":"migration applied"') for out, _ in outputs)
    assert applied == MIGRATIONS
    assert applied_versions(postgres_server, url) == list(range(MIGRATIONS + 1))


def test_make_help_lists_migrate_and_generate(postgres_project: Path) -> None:
    """`make help` lists the database targets with what they do."""
    output = run(["make", "help"], cwd=postgres_project)
    assert "  migrate       Apply the embedded migrations to DATABASE_URL" in output
    assert "  generate      Run the code generators (the //go:generate directives): sqlc rewrites internal/db" in output


def test_make_migrate_applies_the_migrations(postgres_project: Path, postgres_server: PostgresServer) -> None:
    """`make migrate` runs the same code (go run . -migrate) against DATABASE_URL."""
    url = postgres_server.create_database()
    output = run(["make", "migrate"], cwd=postgres_project, env=service_env(url))
    assert f'"msg":"migrations up to date","version":{MIGRATIONS}' in output
    assert applied_versions(postgres_server, url) == list(range(MIGRATIONS + 1))


def test_make_migrate_without_database_url_says_what_to_set(postgres_project: Path) -> None:
    """`make migrate` with no DATABASE_URL stops with one line saying what to export."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    result = subprocess.run(["make", "migrate"], cwd=postgres_project, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "error: DATABASE_URL is not set: export the database's URL" in result.stderr


# --- sqlc ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_make_generate_rewrites_the_sqlc_code_byte_for_byte(bake: Bake) -> None:
    """`make generate` (sqlc pinned in tools/sqlc, through the module proxy) writes internal/db exactly as committed."""
    project = bake(database="postgres")
    generated = project / "internal" / "db"
    committed = {path.name: path.read_bytes() for path in generated.iterdir()}
    assert sorted(committed) == ["db.go", "models.go", "queries.sql.go"]
    for path in generated.iterdir():
        path.unlink()
    run(["make", "generate"], cwd=project, timeout=1800)
    assert {path.name: path.read_bytes() for path in generated.iterdir()} == committed


def test_sqlc_output_matches_the_queries(postgres_project: Path) -> None:
    """The committed sqlc code carries the pinned sqlc version and every query of queries.sql."""
    tools = (postgres_project / "tools" / "sqlc" / "go.mod").read_text(encoding="utf-8")
    (version,) = [
        line.split()[1] for line in tools.splitlines() if line.strip().startswith("github.com/sqlc-dev/sqlc ")
    ]
    code = (postgres_project / "internal" / "db" / "queries.sql.go").read_text(encoding="utf-8")
    assert f"//   sqlc {version}\n" in code
    queries = (postgres_project / "queries.sql").read_text(encoding="utf-8")
    names = [line.split()[2] for line in queries.splitlines() if line.startswith("-- name: ")]
    assert names == ["CreateNote", "GetNote"]
    assert all(f"func (q *Queries) {name}(" in code for name in names)


# --- What the project holds ---------------------------------------------------------------


def test_postgres_project_embeds_time_zones_and_keeps_the_ca_bundle(postgres_project: Path) -> None:
    """A postgres binary links time/tzdata (scratch has no zoneinfo) and the image keeps the CA bundle (verify-full)."""
    deps = run(["go", "list", "-deps", "."], cwd=postgres_project).split()
    assert "time/tzdata" in deps
    assert "github.com/jackc/pgx/v5/pgxpool" in deps
    assert "github.com/pressly/goose/v3" in deps
    dockerfile = (postgres_project / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/" in dockerfile
    structure = (postgres_project / "container-structure-test.yaml").read_text(encoding="utf-8")
    assert "shouldExist: true" in structure.split("/etc/ssl/certs/ca-certificates.crt", 1)[1].split("\n  -", 1)[0]


def test_project_without_database_has_none_of_it(bake: Bake) -> None:
    """database=none leaves out every file, dependency and time zone table of the option."""
    project = bake()
    for name in ("database.go", "migrate.go", "notes.go", "queries.sql", "sqlc.yaml", "migrations", "internal/db"):
        assert not (project / name).exists(), name
    assert not (project / "tools" / "sqlc").exists()
    assert "time/tzdata" not in run(["go", "list", "-deps", "."], cwd=project).split()


# --- Behaviour against the real server -----------------------------------------------------


def test_readiness_follows_the_database_without_a_restart(
    postgres_binary: Path, stoppable_postgres: PostgresServer
) -> None:
    """Under load, a stopped database turns /readyz and the notes to 503 in bounded time, and back, in one process."""
    url = migrated_database(stoppable_postgres, postgres_binary)
    with running_service(postgres_binary, env=service_env(url)) as service:
        pid = service.pid
        load = NotesLoad(service.port, clients=4, max_seconds=120).start()
        try:
            assert wait_for(lambda: statuses(load.snapshot())[201] >= 20, timeout=30)
            stoppable_postgres.stop()
            down = len(load.snapshot())
            assert wait_for(lambda: answers(service.port, "/readyz", 503), timeout=10)
            assert wait_for(lambda: statuses(load.snapshot()[down:])[503] >= 10, timeout=30)
            assert answers(service.port, "/livez", 200)
            stoppable_postgres.start()
            assert wait_for(lambda: answers(service.port, "/readyz", 200), timeout=30)
            up = len(load.snapshot())
            assert wait_for(lambda: statuses(load.snapshot()[up:])[201] >= 20, timeout=30)
        finally:
            calls = load.stop()
        assert service.running()
        assert service.pid == pid
    assert not [call for call in calls if call.status is None], "a call got no answer"
    assert set(statuses(calls)) <= {200, 201, 503}
    slowest = max(calls, key=lambda call: call.seconds)
    assert slowest.seconds < HANG_BOUND, slowest


def test_sigterm_with_queries_in_flight_loses_none(postgres_binary: Path, postgres_server: PostgresServer) -> None:
    """SIGTERM under a load of notes, played as a load balancer would: every call is answered 2xx, every 201 stored."""
    url = migrated_database(postgres_server, postgres_binary)
    env = {**service_env(url), "SHUTDOWN_DELAY": "2s"}
    with running_service(postgres_binary, env=env) as service:
        load = NotesLoad(service.port, clients=8, max_seconds=60).start()
        try:
            assert wait_for(lambda: statuses(load.snapshot())[201] >= 50, timeout=30)
            service.signal(signal.SIGTERM)
            # The balancer sees /readyz at 503 and sends no new call; those in flight, queries and all, finish.
            assert wait_for(lambda: answers(service.port, "/readyz", 503), timeout=2)
        finally:
            calls = load.stop()
        assert service.wait(timeout=30) == 0, service.stderr.text()
    lost = [call for call in calls if call.status is None or call.status >= 300]
    assert not lost, lost[:3]
    created = statuses(calls)[201]
    assert created >= 50
    assert int(postgres_server.query("SELECT count(*) FROM notes", database_name(url))) == created


@pytest.fixture(scope="module", params=["none", "openapi"], ids=lambda api: f"api={api}")
def notes_binary(
    request: pytest.FixtureRequest, cookies_session: Any, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The binary of a postgres project with each answer of api: the notes' contract is the same."""
    if request.param == "none":
        return request.getfixturevalue("postgres_binary")
    project = bake_with(cookies_session, {"database": "postgres", "api": request.param})
    return build_binary(project, tmp_path_factory.mktemp(f"notes-{request.param}") / "service")


def assert_problem(reply: Reply, status: int, names: str | None = None) -> None:
    """The reply is an RFC 9457 problem with the status; its errors name `names` (a parameter or a JSON Pointer)."""
    assert (reply.status, reply.headers.get("content-type")) == (status, "application/problem+json"), reply.body
    problem = json.loads(reply.body)
    assert (problem["type"], problem["status"], problem["title"]) == ("about:blank", status, HTTPStatus(status).phrase)
    if names is not None:
        wrong = [(field.get("pointer") or field.get("parameter"), field["detail"]) for field in problem["errors"]]
        assert any(name == names and detail for name, detail in wrong), problem


def post_notes(port: int, body: bytes, content_type: str | None = "application/json") -> Reply:
    """POST /notes with body, of content_type (None: no Content-Type)."""
    headers = {"Content-Type": content_type} if content_type else {}
    return request(port, "/notes", method="POST", headers=headers, body=body)


def test_notes_answer_the_contract(notes_binary: Path, postgres_server: PostgresServer) -> None:
    """POST /notes answers 201 with the note, GET 200; each refusal is a problem (RFC 9457), whatever the api answer."""
    url = migrated_database(postgres_server, notes_binary)
    with running_service(notes_binary, env=service_env(url)) as service:
        port = service.port
        created = create_note(port, "first note")
        assert created.status == 201
        note: Any = created.json()
        assert note == {"id": note["id"], "text": "first note"}
        read = read_note(port, note["id"])
        assert (read.status, read.json()) == (200, note)
        assert create_note(port, "x" * 1000).status == 201
        assert_problem(request(port, "/notes/1000000000"), 404)
        for note_id in ("0", "-1", "x", "99999999999999999999"):
            assert_problem(request(port, f"/notes/{note_id}"), 400, "id")
        for text in ("", " ", "x" * 1001, "a\0b"):
            assert_problem(post_notes(port, json.dumps({"text": text}).encode()), 400, "#/text")
        # Another case, data after the value, a name twice, bytes that are not UTF-8.
        hostile = (b'{"TEXT": "a"}', b'{"text": "a"}]', b'{"text": " ", "text": "b"}', b'{"text": "\xff"}')
        for body in (b"", b"{", b"null", b"[]", b'{"text": "a", "extra": 1}', b'{"text": "a"} {}', *hostile):
            assert_problem(post_notes(port, body), 400, "#")
        assert_problem(post_notes(port, b"{}"), 400, "#/text")
        assert_problem(post_notes(port, b'{"text": "' + b"a" * (1 << 20) + b'"}'), 413)
        for content_type in ("text/plain", None):
            assert_problem(post_notes(port, b'{"text": "a"}', content_type), 415)


# --- The image of every postgres combination ---------------------------------------------------

POSTGRES_COMBINATIONS = [chosen for chosen in COMBINATIONS if uses_postgres(chosen)]
# Every path the scratch image of a postgres project holds, and nothing else: the binary, the
# accounts and the CA bundle, which the option keeps (sslmode=verify-full).
POSTGRES_IMAGE_KINDS = {
    "etc": "dir",
    "etc/passwd": "file",
    "etc/group": "file",
    "etc/ssl": "dir",
    "etc/ssl/certs": "dir",
    CA_BUNDLE.removeprefix("/"): "file",
    SLUG: "file",
}


def image_name(chosen: dict[str, Any]) -> str:
    """Name a combination's image for a tag, e.g. ``db-https-vendor``: the options that are on."""
    return "-".join(["db", *(SHORT_NAMES[key] for key, value in chosen.items() if value is True)])


def combination_param(chosen: dict[str, Any]) -> Any:
    """One postgres combination, grouped so that `--dist loadgroup` builds its image on one worker only."""
    return pytest.param(chosen, id=answers_id(chosen), marks=pytest.mark.xdist_group(f"image-{image_name(chosen)}"))


@pytest.fixture(scope="session", params=[combination_param(chosen) for chosen in POSTGRES_COMBINATIONS])
def postgres_service_image(request: pytest.FixtureRequest, golang_image: str, cookies_session: Any) -> Iterator[str]:
    """Bake a postgres combination, build its image with its own Dockerfile once per session; return the tag.

    A vendored project builds with no network; the others download their modules through the proxy.
    """
    chosen: dict[str, Any] = request.param
    project = bake_with(cookies_session, chosen)
    tag = f"go-scratch-service-test:{image_name(chosen)}-{os.getpid()}"
    network = "none" if chosen["vendor_dependencies"] else "host"
    build_image(project, tag, build_args={"GOLANG_IMAGE": golang_image}, network=network)
    yield tag
    remove_images(tag)


@pytest.mark.docker
def test_postgres_image_holds_binary_accounts_and_ca_bundle(postgres_service_image: str) -> None:
    """The image holds the static binary, nobody's accounts and a CA bundle full of certificates: nothing else."""
    files = exported_files(postgres_service_image)
    assert {path: file.kind for path, file in files.items()} == POSTGRES_IMAGE_KINDS
    assert files["etc/passwd"].content == f"nobody:x:{NOBODY}:{NOBODY}:nobody:/:/sbin/nologin\n".encode()
    assert files["etc/group"].content == f"nobody:x:{NOBODY}:\n".encode()
    assert (files[CA_BUNDLE.removeprefix("/")].content or b"").count(b"-----BEGIN CERTIFICATE-----") > 100
    assert elf.is_static(files[SLUG].content or b""), "dynamically linked: scratch has no loader"


@pytest.mark.docker
def test_postgres_image_user_is_numeric_and_not_root(postgres_service_image: str) -> None:
    """USER is nobody as uid:gid in numbers, so Kubernetes runAsNonRoot can check it."""
    assert image_inspect(postgres_service_image)["Config"]["User"] == f"{NOBODY}:{NOBODY}"


@pytest.mark.docker
def test_postgres_image_migrates_and_serves_notes_hardened(
    postgres_service_image: str, postgres_server: PostgresServer
) -> None:
    """Read-only and without capabilities, the image runs `-migrate` against the real server, then serves notes."""
    tag, url = postgres_service_image, postgres_server.create_database()
    containers: list[str] = []
    try:
        migrator = run_container(tag, network="host", env=service_env(url), options=HARDENED, command=["-migrate"])
        containers.append(migrator)
        assert docker("wait", migrator, timeout=120).stdout.strip() == "0", container_logs(migrator)
        assert applied_versions(postgres_server, url) == list(range(MIGRATIONS + 1))
        port = free_port()
        server = run_container(tag, network="host", env={**service_env(url), "PORT": str(port)}, options=HARDENED)
        containers.append(server)
        host_config = container_inspect(server)["HostConfig"]
        assert (host_config["ReadonlyRootfs"], host_config["CapDrop"]) == (True, ["ALL"])
        assert wait_for_log(server, '"msg":"listening"', timeout=30), container_logs(server)
        assert wait_for(lambda: answers(port, "/readyz", 200), timeout=30), container_logs(server)
        created = create_note(port, "from the image")
        assert created.status == 201, created
        note: Any = created.json()
        read = read_note(port, int(note["id"]))
        assert (read.status, read.json()) == (200, {"id": note["id"], "text": "from the image"})
    finally:
        for container in containers:
            remove_container(container)
