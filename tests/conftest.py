"""Fixtures only: the shared harness (baking, tools, images, services) lives in the harness package."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness.backstage import Backstage, install_backstage
from harness.build import build_binary
from harness.docker import buildx_plugin, compose_plugin, docker_client, plugin_config
from harness.loopback import LOOPBACK
from harness.postgres import INSTALL_HINT, PostgresServer, TlsPostgres, available, running_postgres
from harness.postgres_image import ensure_postgres_image
from harness.project import COMBINATIONS, GO_VERSION, TEMPLATE_DIR, Bake, answers_id, bake_with
from harness.repositories import release_repository
from harness.template import load_hook
from harness.tls import CertificateAuthority
from harness.tools import file_lock, require_tool, standin_builder, structure_test_tool

# Tools installed into the test environment (hadolint, linters) are found even when it is not activated.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
# Go builds that ignore the project's folder: each test bakes into a new temporary folder, and without
# -trimpath the build cache keys a vendored package by its directory, so every test rebuilt vendor/.
os.environ["GOFLAGS"] = " ".join([os.environ.get("GOFLAGS", ""), "-trimpath"]).strip()

# The fixtures that need a tier's tool, and the marker a test using them must carry (CONTRIBUTING.md):
# a test without it would land in the unit tier, which has no Docker engine and no Node.
FIXTURE_MARKERS = {
    "golang_image": "docker",
    "structure_test": "docker",
    "docker_first_on_path": "docker",
    "postgres_image": "docker",
    "compose_config": "docker",
    "backstage": "node",
    "renovate_bin": "node",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a test that uses a tier's fixture without that tier's marker."""
    unmarked = [
        f"{item.nodeid} uses {fixture} without @pytest.mark.{marker}"
        for item in items
        for fixture, marker in FIXTURE_MARKERS.items()
        if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(marker) is None
    ]
    if unmarked:
        raise pytest.UsageError("tests miss their tier's marker:\n" + "\n".join(unmarked))


@pytest.fixture(scope="session")
def pre_gen(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The pre-generation hook, rendered with the default answers (and the local Go) and imported."""
    return load_hook("pre_gen_project", tmp_path_factory.mktemp("hook"), {"go_version": GO_VERSION})


@pytest.fixture
def post_gen(tmp_path: Path) -> ModuleType:
    """The post-generation hook, rendered with the default answers and imported."""
    return load_hook("post_gen_project", tmp_path)


@pytest.fixture
def bake(cookies: Any) -> Bake:
    """Bake a fresh project: ``bake(https_client=False)``."""
    return lambda **answers: bake_with(cookies, answers)


@pytest.fixture(scope="session", params=COMBINATIONS, ids=answers_id)
def combination(request: pytest.FixtureRequest, cookies_session: Any) -> tuple[dict[str, Any], Path]:
    """One project per covered combination of the options (harness/project.py), baked once per session (per worker)."""
    return request.param, bake_with(cookies_session, request.param)


@pytest.fixture(scope="session")
def golang_image() -> str:
    """The builder stand-in of the local Go (built if absent): pass it as GOLANG_IMAGE; return its tag."""
    return standin_builder()


@pytest.fixture(scope="session")
def backstage() -> Backstage:
    """Backstage's own code (the fetch:cookiecutter action, its template engine, the catalog validators), installed."""
    require_tool("node")
    require_tool("npm")
    with file_lock(TEMPLATE_DIR / "build" / "backstage" / ".lock"):
        return Backstage(install_backstage())


@pytest.fixture(scope="session")
def structure_test() -> str:
    """Find the container-structure-test command."""
    return structure_test_tool()


@pytest.fixture(scope="session")
def docker_first_on_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Make a PATH on which `docker` is the client that builds with BuildKit and container-structure-test is found."""
    shim = tmp_path_factory.mktemp("docker-shim")
    (shim / "docker").symlink_to(docker_client())
    return os.pathsep.join([str(shim), str(Path(sys.executable).parent), os.environ.get("PATH", "")])


@pytest.fixture
def released_template(tmp_path: Path) -> Path:
    """The template as a team's fork in a git repository of its own, its location fixed in it, tagged v1.0.0."""
    return release_repository(tmp_path)


@pytest.fixture(scope="session")
def postgres_image() -> str:
    """The PostgreSQL image assembled from Debian's packages (built if absent or stale): pass it as POSTGRES_IMAGE."""
    require_postgres()
    with file_lock(TEMPLATE_DIR / "build" / "postgres-image.lock"):
        return ensure_postgres_image()


@pytest.fixture(scope="session")
def compose_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DOCKER_CONFIG whose CLI plugins are Compose and buildx (its builder), built from the Go module proxy."""
    plugins = {"docker-compose": compose_plugin(), "docker-buildx": buildx_plugin()}
    return plugin_config(tmp_path_factory.mktemp("compose-config"), plugins)


def require_postgres() -> None:
    """Skip without Debian's PostgreSQL server, except in CI, where a missing server is a failure."""
    if available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is not installed: {INSTALL_HINT}")
    pytest.skip(f"PostgreSQL is not installed: {INSTALL_HINT}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on loopback for the session (per xdist worker): give each test a database of its own."""
    require_postgres()
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def tls_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsPostgres]:
    """A PostgreSQL server with TLS on, its certificate signed by a CA made here; another CA beside it."""
    require_postgres()
    folder = tmp_path_factory.mktemp("database-ca")
    ca, other = CertificateAuthority("test database CA"), CertificateAuthority("another CA")
    with running_postgres(tls=ca.issue(LOOPBACK)) as server:
        yield TlsPostgres(server, ca.write(folder, "ca"), other.write(folder, "other-ca"))


@pytest.fixture
def stoppable_postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server of this test's own, which the test may stop and start again."""
    require_postgres()
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_project(cookies_session: Any) -> Path:
    """A project with database=postgres (the other answers the defaults), baked once per session."""
    return bake_with(cookies_session, {"database": "postgres"})


@pytest.fixture(scope="session")
def postgres_binary(postgres_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The postgres project's static binary, built as its Makefile builds it."""
    return build_binary(postgres_project, tmp_path_factory.mktemp("postgres-binary") / "service")
