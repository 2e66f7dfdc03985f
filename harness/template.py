"""Render pieces of the template the way cookiecutter does, for unit tests.

The hooks are Jinja templates themselves: tests render them with cookiecutter's
own environment and a real context, then import the result, so unit tests run
exactly the code that users get.
"""

from __future__ import annotations

import json
import runpy
import shutil
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
RULES_LOADER = TEMPLATE_DIR / "hooks" / "rules_loader.py"


def render_context(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Build the context cookiecutter would build for a --no-input run with these answers."""
    context = generate_context(context_file=str(TEMPLATE_DIR / "cookiecutter.json"), extra_context=dict(answers))
    context["cookiecutter"] = prompt_for_config(context, no_input=True)
    return context


def load_hook(name: str, directory: Path, answers: Mapping[str, Any] | None = None) -> ModuleType:
    """Render hooks/<name>.py with the answers, write it to directory and run it as the module name.

    Through the template's one loader of Python files (hooks/rules_loader.py), as the hook loads the rules.
    """
    context = render_context(answers or {})
    environment = StrictEnvironment(context=context, keep_trailing_newline=True)
    source = (TEMPLATE_DIR / "hooks" / f"{name}.py").read_text(encoding="utf-8")
    path = directory / f"{name}.py"
    path.write_text(environment.from_string(source).render(**context), encoding="utf-8")
    return runpy.run_path(str(RULES_LOADER))["load_source"](path, name)


def template_copy_with(directory: Path, answers: Mapping[str, Any]) -> Path:
    """Copy the template into directory/template and write answers into its cookiecutter.json, as portals do."""
    template = directory / "template"
    shutil.copytree(
        TEMPLATE_DIR,
        template,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", "*_cache"),
    )
    config_path = template / "cookiecutter.json"
    config = {**json.loads(config_path.read_text(encoding="utf-8")), **answers}
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return template


CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def ca_bundle_copied(project: Path) -> bool:
    """Tell whether the generated Dockerfile copies the CA bundle into the image."""
    lines = (project / "Dockerfile").read_text(encoding="utf-8").splitlines()
    return any(line.startswith("COPY ") and CA_BUNDLE in line for line in lines)


def ca_bundle_expected(project: Path) -> bool:
    """Tell whether the generated container-structure-test.yaml expects the CA bundle in the image."""
    config = yaml.safe_load((project / "container-structure-test.yaml").read_text(encoding="utf-8"))
    (test,) = [test for test in config["fileExistenceTests"] if test["path"] == CA_BUNDLE]
    return bool(test["shouldExist"])
