"""Run a generated project's compose.yaml with the real Docker Compose (v5, a Docker CLI plugin).

The plugin is built from the Go module proxy (harness/docker.py's compose_plugin) and reached
through a DOCKER_CONFIG of its own, beside buildx: Compose builds with `docker buildx bake`
(BuildKit, which the Dockerfile needs) and, without buildx, falls back to the legacy builder,
which cannot build it. The machine's own Docker configuration is never read or changed.
Each project runs under a name of its own (`docker compose -p`), with its ports on 127.0.0.1
(the compose file publishes there) and its images chosen through the variables the file reads:
POSTGRES_IMAGE (the PostgreSQL image harness/postgres_image.py assembles) and GOLANG_IMAGE (the
Go builder stand-in). Every command is bounded in time.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.docker import DockerError, docker, docker_client

PROJECT_LABEL = "com.docker.compose.project"


@dataclass
class Compose:
    """One compose project: the folder of its compose.yaml, its name, and the variables it runs with."""

    directory: Path
    name: str
    config: Path  # a DOCKER_CONFIG whose cli-plugins hold docker-compose
    variables: Mapping[str, str] = field(default_factory=dict)

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run `docker compose -p NAME ARGS...` in the project's folder; raise with its output when it fails."""
        command = [docker_client(), "compose", "--project-name", self.name, *args]
        env = {**os.environ, **self.variables, "DOCKER_CONFIG": str(self.config), "DOCKER_BUILDKIT": "1"}
        result = subprocess.run(
            command, cwd=self.directory, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise DockerError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
        return result

    def up(self, *, wait_seconds: int = 180) -> subprocess.CompletedProcess[str]:
        """Build and start everything, waiting until each service is healthy or has completed."""
        return self.run(
            "up", "--build", "--detach", "--wait", f"--wait-timeout={wait_seconds}", timeout=wait_seconds + 600
        )

    def down(self) -> subprocess.CompletedProcess[str]:
        """Stop and remove the containers, the network and the volumes (the database's data)."""
        return self.run("down", "--volumes", "--remove-orphans", "--timeout=10", timeout=120)

    def containers(self) -> list[dict[str, Any]]:
        """Every container of the project, running or exited, as `docker compose ps --all --format json` lists them."""
        output = self.run("ps", "--all", "--format", "json").stdout
        return [json.loads(line) for line in output.splitlines() if line.strip()]

    def container(self, service: str) -> dict[str, Any]:
        """The one container of a service."""
        (found,) = [item for item in self.containers() if item["Service"] == service]
        return found

    def leftovers(self) -> dict[str, list[str]]:
        """What the engine still holds with the project's label: containers, volumes, networks (empty when clean)."""
        label = f"label={PROJECT_LABEL}={self.name}"
        listed = {
            "containers": docker("ps", "--all", "--quiet", "--filter", label).stdout,
            "volumes": docker("volume", "ls", "--quiet", "--filter", label).stdout,
            "networks": docker("network", "ls", "--quiet", "--filter", label).stdout,
        }
        return {kind: output.split() for kind, output in listed.items() if output.split()}
