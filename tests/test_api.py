"""The API contract option (api=openapi) as its users meet it: generated code, description, request checks.

The committed code is what the description generates, and the real binary serves the description and
checks every request against it.

The per-combination tests (vet, race tests, lint, tidy, the image) cover the option through COMBINATIONS;
the spec lint and the breaking-change gate are in test_api_gate.py, Backstage's API entity in
test_backstage.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.build import build_binary
from harness.loopback import Reply, request
from harness.notes import create_note
from harness.postgres import PostgresServer, service_env
from harness.process import running_service
from harness.project import Bake, bake_with
from harness.tools import run

GENERATED = Path("internal/api/api.gen.go")
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def api_project(cookies_session: Any) -> Path:
    """A project with api=openapi and database=postgres (the other answers the defaults), baked once."""
    return bake_with(cookies_session, {"api": "openapi", "database": "postgres"})


@pytest.fixture(scope="module")
def api_binary(api_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The API project's static binary, built as its Makefile builds it."""
    return build_binary(api_project, tmp_path_factory.mktemp("api-binary") / "service")


@pytest.fixture
def api_database(api_binary: Path, postgres_server: PostgresServer) -> str:
    """A database of the test's own with the migrations applied; its URL."""
    url = postgres_server.create_database()
    env = {"PATH": "/usr/bin:/bin", **service_env(url)}
    result = subprocess.run([api_binary, "-migrate"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return url


def problem_of(reply: Reply) -> dict[str, Any]:
    """The RFC 9457 problem an answer carries (failing the test when it carries none)."""
    assert reply.headers.get("content-type") == PROBLEM, (reply.status, reply.headers, reply.body)
    body: dict[str, Any] = json.loads(reply.body)
    assert {"title", "status"} <= body.keys(), body
    assert body["status"] == reply.status, body
    return body


# --- Generated code -------------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["none", "postgres"])
def test_make_generate_rewrites_the_api_code_byte_for_byte(bake: Bake, database: str) -> None:
    """`make generate` (oapi-codegen pinned in tools/api, through the module proxy) writes internal/api as committed."""
    project = bake(api="openapi", database=database)
    committed = (project / GENERATED).read_bytes()
    (project / GENERATED).unlink()
    run(["make", "generate"], cwd=project, timeout=1800)
    assert (project / GENERATED).read_bytes() == committed


def test_lint_refuses_generated_code_the_description_no_longer_gives(bake: Bake) -> None:
    """`make api-generated` (a step of `make lint`) fails on a description edited without `make generate`.

    It names the fix, and leaves the committed file as it was.
    """
    project = bake(api="openapi")
    spec = project / "api" / "openapi.yaml"
    committed = (project / GENERATED).read_bytes()
    run(["make", "api-generated"], cwd=project, timeout=1800)
    text = spec.read_text(encoding="utf-8")
    edited = text.replace("      operationId: getRoot\n", "      operationId: getGreeting\n")
    assert edited != text, "the description no longer has operationId getRoot: update this test"
    spec.write_text(edited, encoding="utf-8")
    result = subprocess.run(
        ["make", "api-generated"], cwd=project, capture_output=True, text=True, timeout=1800, check=False
    )
    assert result.returncode != 0, result.stdout
    assert "run make generate and commit both" in result.stderr
    assert (project / GENERATED).read_bytes() == committed


# --- The running service --------------------------------------------------------------------------


def test_the_service_serves_its_description(api_project: Path, api_binary: Path, api_database: str) -> None:
    """GET /openapi.yaml answers the description the project holds, byte for byte, as YAML."""
    with running_service(api_binary, env=service_env(api_database)) as service:
        reply = request(service.port, "/openapi.yaml")
    assert reply.status == 200
    assert reply.headers.get("content-type") == "application/yaml"
    assert reply.body == (api_project / "api" / "openapi.yaml").read_bytes()


def test_requests_the_description_refuses_get_a_problem_naming_the_field(api_binary: Path, api_database: str) -> None:
    """A body field of the wrong type or a malformed path parameter gets 400 and a problem naming it.

    A request the description allows reaches the handler.
    """
    with running_service(api_binary, env=service_env(api_database)) as service:
        json_body = {"Content-Type": "application/json"}
        wrong_type = request(service.port, "/notes", method="POST", headers=json_body, body=b'{"text": 5}')
        bad_id = request(service.port, "/notes/abc")
        stored = create_note(service.port, "allowed")
    assert wrong_type.status == 400
    assert [error.get("pointer") for error in problem_of(wrong_type)["errors"]] == ["#/text"]
    assert bad_id.status == 400
    assert [error.get("parameter") for error in problem_of(bad_id)["errors"]] == ["id"]
    assert stored.status == 201
    note: Any = stored.json()
    assert note == {"id": note["id"], "text": "allowed"}
