"""The real Go vulnerability database, offline: golang.org/x/vulndb from the Go module proxy.

The module holds every OSV report (data/osv/GO-*.json); its own cmd/indexdb writes them in the
layout govulncheck reads (index/db.json, index/modules.json, ID/*.json). The result goes into a
cache directory keyed by the module version, once per machine; `govulncheck -db file://DIR`
then reads it. Run ``python -m harness.vulndb`` from the repository root to build it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from harness.build import CACHE_DIR, downloaded_module
from harness.versions import VULNDB_VERSION

# Pinned: a fixed snapshot of the database, so that which modules are listed never changes under a test.
VULNDB_MODULE = "golang.org/x/vulndb"


def module_dir(version: str = VULNDB_VERSION) -> Path:
    """The vulndb module's folder in the module cache, downloaded through the proxy when missing."""
    return downloaded_module(VULNDB_MODULE, version)


def osv_report(osv_id: str, version: str = VULNDB_VERSION) -> dict[str, Any]:
    """Return one OSV report of the pinned database by its id (GO-YYYY-NNNN)."""
    path = module_dir(version) / "data" / "osv" / f"{osv_id}.json"
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def vulndb(version: str = VULNDB_VERSION) -> Path:
    """Index the pinned database with its own cmd/indexdb unless the cache holds it; return its directory."""
    database = CACHE_DIR / f"vulndb-{version}"
    if (database / "index" / "db.json").is_file():
        return database
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / f"vulndb-{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (database / "index" / "db.json").is_file():
            partial = CACHE_DIR / f"vulndb-{version}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            source = module_dir(version)
            subprocess.run(
                [
                    "go",
                    "run",
                    f"{VULNDB_MODULE}/cmd/indexdb@{version}",
                    "-vulns",
                    str(source / "data" / "osv"),
                    "-out",
                    str(partial),
                ],
                env={**os.environ, "GOFLAGS": ""},
                check=True,
                capture_output=True,
                timeout=1800,
            )
            partial.rename(database)
    return database


if __name__ == "__main__":
    print(vulndb().as_uri())
