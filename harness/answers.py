"""The answers the tests share: the template's own defaults and the tables several test modules use."""

from __future__ import annotations

import json
from typing import Any

from harness.template import TEMPLATE_DIR

COOKIECUTTER_JSON: dict[str, Any] = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
SLUG = "go-scratch-service"  # the slug of the default project_name
NOBODY = 65534  # the numeric user and group the generated image and Deployment run as

# Module paths and whether Go accepts them (golang.org/x/mod's CheckPath): the hook must agree.
MODULE_PATHS = {
    "github.com/acme/service": True,
    "example.com/a/b/c": True,
    "example.com/service/v2": True,
    "example.com/service/v10": True,
    "go.example.org/Mixed_Case.name~tilde": True,
    "xn--caf-dma.example/service": True,
    "example.com": True,
    "service": False,
    "Example.com/service": False,
    "example.com/service/v1": False,
    "example.com/service/v0": False,
    "example.com/service/v02": False,
    "example.com/.hidden": False,
    "example.com/trailing.": False,
    "example.com/a//b": False,
    "example.com/a/": False,
    "example.com/a b": False,
    "example.com/aux.txt": False,
    "example.com/progra~1": False,
    "example.com/é": False,
    "-example.com/a": False,
    "exa_mple.com/a": False,
    "example.com/-service": False,
    "example.com/a/-b": False,
    "example.com/-a/b": True,
    "example.com/~": False,
    "example.com/~x": False,
    "example.com/_x": True,
    "example.com/a~b": True,
    "example.com/progra~1.txt": False,
    "example.com/a+b": False,
    "example.com/.a": False,
    "gopkg.in/yaml": False,
    "gopkg.in/yaml.v3": True,
    "example.com/-v2": False,
    "exa.mple.com-/a": True,
}
