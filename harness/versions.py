"""The pinned versions of the template's own tooling, from versions.json at the repository's root."""

from __future__ import annotations

import json
from typing import Any

from harness.template import TEMPLATE_DIR

VERSIONS_FILE = TEMPLATE_DIR / "versions.json"
VERSIONS: dict[str, Any] = json.loads(VERSIONS_FILE.read_text(encoding="utf-8"))

GO_TOOLS: dict[str, str] = {name: tool["version"] for name, tool in VERSIONS["go_tools"].items()}
GOLANGCI_LINT_VERSION = GO_TOOLS["golangci-lint"]
BUILDKIT_VERSION: str = VERSIONS["buildkit"]["version"]
KUBE_VERSION: str = VERSIONS["kubernetes"]["version"]
ETCD_VERSION: str = VERSIONS["etcd"]["version"]
BUILDX_VERSION: str = VERSIONS["buildx"]["version"]
COMPOSE_VERSION: str = VERSIONS["compose"]["version"]
VULNDB_VERSION: str = VERSIONS["vulndb"]["version"]
