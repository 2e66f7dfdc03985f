"""The real Renovate, run offline on a generated project: what it extracts, file by file.

scripts/install-renovate.sh installs the pinned renovate and the Node.js it needs from the npm
registry (once per version). `renovate --platform=local --dry-run=extract` reads the working
copy of a git repository with one commit, looks nothing up and logs "Extracted dependencies".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.project import TEMPLATE_DIR
from harness.tools import file_lock, run

INSTALL_SCRIPT = TEMPLATE_DIR / "scripts" / "install-renovate.sh"
# Debug lines that mean a file went unread: a manager failed to parse it, or an enabled manager found nothing.
UNHEARD = ("Error extracting", "Manager explicitly enabled")


@dataclass(frozen=True)
class Extracted:
    """One dependency that Renovate extracted: manager, file, name, current value and digest, type."""

    manager: str
    file: str
    name: str
    value: str
    digest: str | None
    dep_type: str | None
    enabled: bool = True  # false: extracted but left alone (gomod's indirect modules, unless a tool's)


def install() -> Path:
    """Install Renovate and its Node once (locked across xdist workers); return the directory of both binaries."""
    if shutil.which("npm") is None:
        raise RuntimeError("npm is not installed: Renovate installs from the npm registry")
    with file_lock(TEMPLATE_DIR / "build" / "renovate.lock"):
        prefix = run(["bash", str(INSTALL_SCRIPT)], cwd=TEMPLATE_DIR, timeout=900).strip().splitlines()[-1]
    return Path(prefix) / "node_modules" / ".bin"


def extract(project: Path, bin_dir: Path) -> list[Extracted]:
    """Commit the project to a fresh git repository, run Renovate's offline extraction, return its dependencies."""
    git = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    git |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    if not (project / ".git").exists():
        run(["git", "init", "--quiet"], cwd=project)
        run(["git", "add", "--all"], cwd=project)
        run(["git", "commit", "--quiet", "-m", "generated"], cwd=project, env=git)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RENOVATE_X_IGNORE_RE2": "true",  # re2 is a native addon, left unbuilt (--ignore-scripts)
        "LOG_LEVEL": "debug",
        "LOG_FORMAT": "json",
    }
    result = subprocess.run(
        [str(bin_dir / "renovate"), "--platform=local", "--dry-run=extract"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    # A file a manager cannot parse is only a debug line ("Error extracting ..."): count it as an error.
    errors = [
        f"{record['msg']}: {record.get('err', {}).get('message', '')}"
        for record in records
        if record.get("level", 0) >= 50 or str(record.get("msg", "")).startswith(UNHEARD)
    ]
    extracted = [record for record in records if record.get("msg") == "Extracted dependencies"]
    if result.returncode != 0 or errors or len(extracted) != 1:
        raise AssertionError(f"renovate failed (exit {result.returncode}): {errors}\n{result.stderr[-2000:]}")
    return list(dependencies(extracted[0]["packageFiles"]))


def dependencies(package_files: dict[str, list[dict[str, Any]]]) -> list[Extracted]:
    """Flatten Renovate's packageFiles (manager -> files -> deps)."""
    found = []
    for manager, files in package_files.items():
        for package_file in files:
            for dep in package_file["deps"]:
                found.append(
                    Extracted(
                        manager=manager,
                        file=package_file["packageFile"],
                        name=str(dep.get("depName", "")),
                        value=str(dep.get("currentValue", "")),
                        digest=dep.get("currentDigest"),
                        dep_type=dep.get("depType"),
                        enabled=dep.get("enabled", True) is not False,
                    )
                )
    return found
