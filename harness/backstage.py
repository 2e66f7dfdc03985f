"""Backstage's own code for the portal tests: the fetch:cookiecutter action, its template engine, the catalog.

The catalog's processing of an entity file: its PlaceholderProcessor, then its entity policies and kind validators.

``tests/backstage/driver.js`` runs them on the npm packages pinned by ``tests/backstage/package-lock.json``,
which ``scripts/install-backstage.sh`` installs once per lock file into ``build/backstage/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.template import TEMPLATE_DIR

TEMPLATE_YAML = TEMPLATE_DIR / "template.yaml"
DRIVER = TEMPLATE_DIR / "tests" / "backstage" / "driver.js"
INSTALL_SCRIPT = TEMPLATE_DIR / "scripts" / "install-backstage.sh"

# Where the template lives on GitHub, as a catalog location: the URL of template.yaml on a branch.
GITHUB_REPOSITORY = "https://github.com/org/go-scratch-service"
GITHUB_TEMPLATE_URL = f"{GITHUB_REPOSITORY}/blob/main/template.yaml"
REPO_URL = "github.com?owner=acme&repo=billing"  # what Backstage's RepoUrlPicker gives
# Where catalog:register registers the project's catalog-info.yaml: publish:github's repoContentsUrl for
# REPO_URL on the Template's default branch, and the Template's catalogInfoPath.
GITHUB_CATALOG_INFO_URL = "https://github.com/acme/billing/blob/main/catalog-info.yaml"


class BackstageRefused(Exception):
    """Backstage's code threw: its error name and message."""

    def __init__(self, name: str, message: str) -> None:
        """Keep the error's name (e.g. NotAllowedError) apart from its message."""
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def install_backstage() -> Path:
    """Install the pinned packages (once per lock file) and return their node_modules directory."""
    result = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{INSTALL_SCRIPT.name} exited {result.returncode}:\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def file_location(template: Path) -> str:
    """The base URL the scaffolder gives a Template registered as a file location (``file:<path>``)."""
    return f"file://{template}"


def form_answers(template: Path = TEMPLATE_YAML, **overrides: Any) -> dict[str, Any]:
    """What the Template's form submits: each field's default, a repository, then the user's entries."""
    pages = yaml.safe_load(template.read_text(encoding="utf-8"))["spec"]["parameters"]
    defaults = {
        name: field["default"] for page in pages for name, field in page["properties"].items() if "default" in field
    }
    return {**defaults, "repoUrl": REPO_URL, **overrides}


@dataclass(frozen=True)
class Job:
    """One call of Backstage's code: a driver command and its request."""

    command: str
    request: dict[str, Any]


def values_job(parameters: Mapping[str, Any], template: Path = TEMPLATE_YAML) -> Job:
    """Render the Template's fetch:cookiecutter step input for these form answers with the scaffolder's engine."""
    return Job("values", {"template": str(template), "parameters": dict(parameters)})


def fetch_job(
    directory: Path,
    parameters: Mapping[str, Any],
    *,
    template: Path = TEMPLATE_YAML,
    base_url: str | None = None,
    served: Mapping[str, str] | None = None,
) -> Job:
    """Run the real fetch:cookiecutter step of the Template into directory/workspace (hooks never run there).

    base_url is where the Template was registered (its file location by default); served maps a URL
    prefix to a local folder for the URL reader, which stands in for GitHub.
    """
    workspace = directory / "workspace"
    scratch = directory / "scratch"
    for path in (workspace, scratch):
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    request = {
        "template": str(template),
        "baseUrl": base_url or file_location(template),
        "parameters": dict(parameters),
        "workspace": str(workspace),
        "scratch": str(scratch),
        "served": dict(served) if served else None,
    }
    return Job("fetch", request)


def validate_job(entity_file: Path, url: str = GITHUB_CATALOG_INFO_URL) -> Job:
    """Check every entity in the file, registered at url, as the catalog does; the result lists their references.

    The catalog's PlaceholderProcessor resolves a placeholder (``$text: ./api/openapi.yaml``) against url and
    reads it through the URL reader, which serves the files beside entity_file in place of the repository.
    """
    return Job("validate", {"file": str(entity_file), "url": url})


def entities_job(entity_file: Path, url: str = GITHUB_CATALOG_INFO_URL) -> Job:
    """Process every entity in the file as validate_job does; the result holds the processed entities.

    The result's keys: ``entities`` (each as the catalog stores it, placeholders filled in), ``readUrls``
    (the URLs read for placeholders) and ``emitted`` (what the processor emitted, e.g. refresh keys).
    """
    return Job("entities", {"file": str(entity_file), "url": url})


@dataclass(frozen=True)
class Fetched:
    """What one run of fetch:cookiecutter did."""

    project: Path  # the step's workspace: the generated project's files
    input: dict[str, Any]  # the step's input, as Backstage rendered it
    read_urls: list[str]  # the URLs the action asked the URL reader for

    @classmethod
    def of(cls, job: Job, result: Mapping[str, Any]) -> Fetched:
        """Read the result of a fetch job."""
        return cls(project=Path(job.request["workspace"]), input=result["input"], read_urls=result["readUrls"])


@dataclass(frozen=True)
class Backstage:
    """Runs Backstage's code with the installed packages."""

    node_modules: Path

    def run_all(self, jobs: Sequence[Job]) -> list[Any]:
        """Run the jobs in one Node process; each answer is its result, or the BackstageRefused it raised."""
        result = subprocess.run(
            ["node", str(DRIVER)],
            input=json.dumps([{"command": job.command, "request": job.request} for job in jobs]),
            capture_output=True,
            text=True,
            timeout=600 + 120 * len(jobs),
            check=False,
            env={**os.environ, "NODE_PATH": str(self.node_modules)},
        )
        if result.returncode != 0:
            raise RuntimeError(f"the Backstage driver exited {result.returncode}:\n{result.stdout}{result.stderr}")
        return [
            BackstageRefused(answer["error"]["name"], f"{answer['error']['message']}\n{result.stderr}")
            if "error" in answer
            else answer["result"]
            for answer in json.loads(result.stdout)
        ]

    def run(self, job: Job) -> Any:
        """Run one job; return its result or raise BackstageRefused with Backstage's error."""
        (answer,) = self.run_all([job])
        if isinstance(answer, BackstageRefused):
            raise answer
        return answer

    def fetch(self, job: Job) -> Fetched:
        """Run one fetch job."""
        return Fetched.of(job, self.run(job))
