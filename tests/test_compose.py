"""Local development: a postgres project's compose.yaml, run by the real Docker Compose, gives a ready service.

The project (vendored, so that its image builds with no network) is started with `docker compose
up --build --wait`, as its compose.yaml says, with two variables pointing at local images:
POSTGRES_IMAGE at the PostgreSQL image assembled from Debian's packages, GOLANG_IMAGE at the Go
builder stand-in. When `up` returns, the migration has run once and exited 0, the service answers
/readyz with 200 and stores and returns notes, all through the ports the file publishes on
127.0.0.1; `docker compose down --volumes` leaves no container, volume or network behind.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.compose import Compose
from harness.docker import container_inspect, remove_images
from harness.loopback import free_port, request
from harness.project import bake_with
from harness.tools import run

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("compose")]

ANSWERS = {"project_name": "Notes Service", "database": "postgres", "vendor_dependencies": True}
SERVICE = "notes-service"  # the service's name in compose.yaml: the project's slug
PASSWORD = "app"  # compose.yaml's default POSTGRES_PASSWORD


@pytest.fixture(scope="module")
def project(cookies_session: Any) -> Path:
    """A vendored postgres project."""
    return bake_with(cookies_session, ANSWERS)


@pytest.fixture(scope="module")
def compose(project: Path, compose_config: Path, postgres_image: str, golang_image: str) -> Iterator[Compose]:
    """The project's compose.yaml, up (built, migrated, healthy); down, with its volumes and image, afterwards."""
    name = f"gss-compose-{uuid.uuid4().hex[:8]}"
    variables = {
        "POSTGRES_IMAGE": postgres_image,
        "GOLANG_IMAGE": golang_image,
        "IMAGE": name,
        "VERSION": "test",
        "HTTP_PORT": str(free_port()),
        "POSTGRES_PORT": str(free_port()),
    }
    started = Compose(project, name, compose_config, variables)
    try:
        started.up()
        yield started
    finally:
        started.down()
        remove_images(f"{name}:test")


def port(compose: Compose, variable: str) -> int:
    """A port that compose.yaml publishes on 127.0.0.1, as the test chose it."""
    return int(compose.variables[variable])


def psql(compose: Compose, sql: str) -> str:
    """Run SQL against the compose database through its published port, as the README's TEST_DATABASE_URL does."""
    url = f"postgres://app:{PASSWORD}@127.0.0.1:{port(compose, 'POSTGRES_PORT')}/app?sslmode=disable"
    return run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-tA", "-d", url, "-c", sql], cwd=compose.directory).strip()


# --- up: the database, the migration, the service ------------------------------------------------


def test_up_waits_until_the_service_is_ready(compose: Compose) -> None:
    """When `up --wait` returns, the service is healthy and /readyz answers 200 through the published port."""
    assert compose.container(SERVICE)["Health"] == "healthy"
    assert request(port(compose, "HTTP_PORT"), "/readyz").status == 200


def test_migration_ran_once_and_exited_zero(compose: Compose) -> None:
    """The one-shot migration service ran the binary's -migrate, exited 0, and the notes table exists."""
    migrate = compose.container("migrate")
    assert (migrate["State"], migrate["ExitCode"]) == ("exited", 0), migrate
    assert psql(compose, "SELECT to_regclass('public.notes') IS NOT NULL") == "t"


def test_migration_again_is_a_no_op(compose: Compose) -> None:
    """Running the migration service again, with everything applied already, exits 0 and changes nothing."""
    before = psql(compose, "SELECT count(*) FROM goose_db_version")
    compose.run("run", "--rm", "--no-deps", "migrate", timeout=120)
    assert psql(compose, "SELECT count(*) FROM goose_db_version") == before


def test_notes_are_stored_and_returned(compose: Compose) -> None:
    """POST /notes answers 201 with the note, GET /notes/{id} returns it, an unknown id answers 404."""
    http = port(compose, "HTTP_PORT")
    body = json.dumps({"text": "from compose"}).encode()
    created = request(http, "/notes", method="POST", body=body, headers={"Content-Type": "application/json"})
    assert created.status == 201, created
    note = json.loads(created.body)
    assert note["text"] == "from compose"
    fetched = request(http, f"/notes/{note['id']}")
    assert (fetched.status, json.loads(fetched.body)) == (200, note)
    assert request(http, "/notes/999999999").status == 404
    assert psql(compose, f"SELECT text FROM notes WHERE id = {int(note['id'])}") == "from compose"


def test_service_runs_hardened(compose: Compose) -> None:
    """The service's container is read-only, without capabilities, as its numeric unprivileged user."""
    inspected = container_inspect(compose.container(SERVICE)["ID"])
    assert inspected["HostConfig"]["ReadonlyRootfs"] is True
    assert inspected["HostConfig"]["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in inspected["HostConfig"]["SecurityOpt"]
    assert inspected["Config"]["User"] == "65534:65534"


# --- down ----------------------------------------------------------------------------------------


def test_down_leaves_nothing(compose: Compose) -> None:
    """`docker compose down --volumes` removes every container, the database's volume and the network."""
    assert compose.leftovers()  # the check below can see what up made
    compose.down()
    assert compose.leftovers() == {}
