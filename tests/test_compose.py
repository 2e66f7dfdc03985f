"""Local development: a postgres project's compose.yaml, run by the real Docker Compose, gives a ready service.

The file itself is read first (unit tier): the order it promises (database healthy, migration
completed, then the service), its ports on 127.0.0.1 only, the PostgreSQL image from a variable.
Then, with Docker (images tier), the project (vendored, so that its image builds with no network) is
started with `docker compose up --build --wait`, as its compose.yaml says, with two variables
pointing at local images: POSTGRES_IMAGE at the PostgreSQL image assembled from Debian's packages
(whose contract is checked first), GOLANG_IMAGE at the Go builder stand-in. When `up` returns, the
migration has run once and exited 0, the service answers /readyz with 200 and stores and returns
notes, all through the ports the file publishes on 127.0.0.1; `docker compose down --volumes` leaves
no container, volume or network behind.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from harness.compose import Compose
from harness.docker import container_inspect, docker, docker_client, image_inspect, remove_images
from harness.loopback import free_port, request
from harness.project import Bake, bake_with
from harness.tools import make, run

T = TypeVar("T")


def live(test: T) -> T:
    """Mark a test that runs the compose project: Docker needed, slow, on the one worker that holds it."""
    return pytest.mark.docker(pytest.mark.slow(pytest.mark.xdist_group("compose")(test)))


ANSWERS = {"project_name": "Notes Service", "database": "postgres", "vendor_dependencies": True}
SERVICE = "notes-service"  # the service's name in compose.yaml: the project's slug
PASSWORD = "app"  # compose.yaml's default POSTGRES_PASSWORD


@pytest.fixture(scope="module")
def project(cookies_session: Any) -> Path:
    """A vendored postgres project."""
    return bake_with(cookies_session, ANSWERS)


@pytest.fixture(scope="module")
def compose_file(project: Path) -> dict[str, Any]:
    """The project's compose.yaml, parsed."""
    return yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))


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


# --- The file -----------------------------------------------------------------------------------


def test_services_start_in_order(compose_file: dict[str, Any]) -> None:
    """The migration waits for a healthy database, the service for a migration that completed successfully."""
    services = compose_file["services"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services[SERVICE]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert services["migrate"]["command"] == ["-migrate"]
    assert services["migrate"]["image"] == services[SERVICE]["image"]
    assert "build" in services[SERVICE]


def test_database_health_is_checked_over_tcp(compose_file: dict[str, Any]) -> None:
    """The healthcheck is pg_isready over TCP, which the official image's socket-only init server cannot pass."""
    test = compose_file["services"]["postgres"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "pg_isready"]
    assert "--host=127.0.0.1" in test


def test_postgres_image_comes_from_a_variable(compose_file: dict[str, Any], project: Path) -> None:
    """The PostgreSQL image is POSTGRES_IMAGE, by default the official image CI runs, by the same tag and digest."""
    image = compose_file["services"]["postgres"]["image"]
    default = image.removeprefix("${POSTGRES_IMAGE:-").removesuffix("}")
    assert image == f"${{POSTGRES_IMAGE:-{default}}}", image
    assert re.fullmatch(r"postgres:17[\w.-]*@sha256:[0-9a-f]{64}", default), default  # 17: data where the volume is
    assert default in (project / ".github" / "postgres" / "Dockerfile").read_text(encoding="utf-8")
    assert compose_file["services"]["postgres"]["volumes"] == ["postgres-data:/var/lib/postgresql/data"]


def test_ports_are_published_on_loopback_only(compose_file: dict[str, Any]) -> None:
    """Every published port is bound to 127.0.0.1, never to every address of the machine."""
    ports = [port for service in compose_file["services"].values() for port in service.get("ports", [])]
    assert ports
    assert all(port.startswith("127.0.0.1:") for port in ports), ports


def test_no_compose_file_without_a_database(bake: Bake) -> None:
    """A project without a database has no compose.yaml."""
    assert not (bake(database="none") / "compose.yaml").exists()


# --- The PostgreSQL image the tests assemble ------------------------------------------------------


@live
def test_postgres_image_has_a_name_of_its_own(postgres_image: str) -> None:
    """The assembled image never carries the official name, runs as a numeric non-root user and exposes 5432."""
    assert not postgres_image.startswith(("postgres:", "library/postgres", "docker.io/library/postgres")), (
        postgres_image
    )
    config = image_inspect(postgres_image)["Config"]
    assert config["User"] == "999:999"
    assert "5432/tcp" in config["ExposedPorts"]


@live
def test_postgres_image_refuses_to_start_without_a_password(postgres_image: str) -> None:
    """Like the official image, it stops at once without POSTGRES_PASSWORD, in one line naming the variable."""
    result = docker("run", "--rm", "--network", "none", postgres_image, check=False, timeout=60)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "POSTGRES_PASSWORD is not set" in line, line


# --- up: the database, the migration, the service ------------------------------------------------


@live
def test_up_waits_until_the_service_is_ready(compose: Compose) -> None:
    """When `up --wait` returns, the service is healthy and /readyz answers 200 through the published port."""
    assert compose.container(SERVICE)["Health"] == "healthy"
    assert request(port(compose, "HTTP_PORT"), "/readyz").status == 200


@live
def test_migration_ran_once_and_exited_zero(compose: Compose) -> None:
    """The one-shot migration service ran the binary's -migrate, exited 0, and the notes table exists."""
    migrate = compose.container("migrate")
    assert (migrate["State"], migrate["ExitCode"]) == ("exited", 0), migrate
    assert psql(compose, "SELECT to_regclass('public.notes') IS NOT NULL") == "t"


@live
def test_migration_again_is_a_no_op(compose: Compose) -> None:
    """Running the migration service again, with everything applied already, exits 0 and changes nothing."""
    before = psql(compose, "SELECT count(*) FROM goose_db_version")
    compose.run("run", "--rm", "--no-deps", "migrate", timeout=120)
    assert psql(compose, "SELECT count(*) FROM goose_db_version") == before


@live
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


@live
def test_service_runs_hardened(compose: Compose) -> None:
    """The service's container is read-only, without capabilities, as its numeric unprivileged user."""
    inspected = container_inspect(compose.container(SERVICE)["ID"])
    assert inspected["HostConfig"]["ReadonlyRootfs"] is True
    assert inspected["HostConfig"]["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in inspected["HostConfig"]["SecurityOpt"]
    assert inspected["Config"]["User"] == "65534:65534"


# --- down ----------------------------------------------------------------------------------------


@live
def test_down_leaves_nothing(compose: Compose) -> None:
    """`docker compose down --volumes` removes every container, the database's volume and the network."""
    assert compose.leftovers()  # the check below can see what up made
    compose.down()
    assert compose.leftovers() == {}


# --- make up and make down: the database alone, for make dev ---------------------------------------


@live
def test_make_up_starts_the_database_env_example_names_and_make_down_stops_it(
    bake: Bake, compose_config: Path, postgres_image: str
) -> None:
    """`make up` leaves PostgreSQL alone healthy, `make migrate` reaches it through .env, `make down` stops it.

    The port moves through .env, which compose reads for POSTGRES_PORT and make for DATABASE_URL.
    """
    project = bake(database="postgres")
    postgres_port = free_port()
    example = (project / ".env.example").read_text(encoding="utf-8")
    assert "DATABASE_URL=postgres://app:app@127.0.0.1:5432/app?sslmode=disable\n" in example
    (project / ".env").write_text(
        example.replace("@127.0.0.1:5432/", f"@127.0.0.1:{postgres_port}/") + f"POSTGRES_PORT={postgres_port}\n",
        encoding="utf-8",
    )
    name = f"gss-make-up-{uuid.uuid4().hex[:8]}"
    stack = Compose(project, name, compose_config)
    env = {
        "DOCKER": docker_client(),
        "DOCKER_CONFIG": str(compose_config),
        "COMPOSE_PROJECT_NAME": name,
        "POSTGRES_IMAGE": postgres_image,
    }

    def make_ok(*args: str) -> None:
        ran = make(project, *args, env=env, timeout=600)
        assert ran.returncode == 0, f"make {' '.join(args)}:\n{ran.output}"

    try:
        make_ok("up")
        (database,) = stack.containers()
        assert (database["Service"], database["Health"]) == ("postgres", "healthy"), database
        make_ok("migrate")
        url = f"postgres://app:{PASSWORD}@127.0.0.1:{postgres_port}/app?sslmode=disable"
        applied = run(
            ["psql", "-X", "-tA", "-d", url, "-c", "SELECT to_regclass('public.notes') IS NOT NULL"], cwd=project
        )
        assert applied.strip() == "t"
        make_ok("down")
        assert stack.leftovers().get("containers") is None, stack.leftovers()
    finally:
        stack.down()
