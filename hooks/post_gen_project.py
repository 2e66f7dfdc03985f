"""Finish the generated project: the steps that Jinja alone cannot do.

Runs in the new project's directory. Every step is idempotent (cruft re-runs it
on updates), reads no answer itself, and never commits.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# Every answer, rendered as JSON data (never as code) and read back. Triple single quotes on
# purpose: Jinja's tojson escapes ' as \u0027, so no answer can end this string early.
ANSWERS: dict[str, Any] = json.loads(r'''{{ cookiecutter | tojson }}''')  # fmt: skip

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# The image test's entry for the bundle, as rendered (like the Dockerfile, with the bundle) and without it.
CA_BUNDLE_TEST = f"  - name: the CA bundle, for HTTPS calls\n    path: {CA_BUNDLE}\n    shouldExist: true\n"
NO_CA_BUNDLE_TEST = (
    f"  - name: no CA bundle (the service makes no HTTPS calls)\n    path: {CA_BUNDLE}\n    shouldExist: false\n"
)


class HookError(RuntimeError):
    """A step that failed in a way the user can fix."""


def info(message: str) -> None:
    """Print a progress line."""
    print(message)


def error(message: str) -> None:
    """Print an error line on stderr."""
    print(f"error: {message}", file=sys.stderr)


def strip_ca_certificates(dockerfile: Path) -> None:
    """Remove the paragraph that copies the CA bundle into the final image."""
    paragraphs = dockerfile.read_text(encoding="utf-8").split("\n\n")
    kept = [paragraph for paragraph in paragraphs if CA_BUNDLE not in paragraph]
    dockerfile.write_text("\n\n".join(kept), encoding="utf-8")


def expect_no_ca_bundle(structure_test: Path) -> None:
    """Make the image test expect no CA bundle, as the stripped Dockerfile builds the image."""
    text = structure_test.read_text(encoding="utf-8")
    structure_test.write_text(text.replace(CA_BUNDLE_TEST, NO_CA_BUNDLE_TEST), encoding="utf-8")


def drop_ca_bundle(project: Path) -> None:
    """Leave the CA bundle out of the image and out of what its test expects, together."""
    strip_ca_certificates(project / "Dockerfile")
    expect_no_ca_bundle(project / "container-structure-test.yaml")


def vendor_dependencies(project: Path) -> None:
    """Run `go mod vendor`; with no dependencies there is nothing to vendor."""
    if not (project / "go.sum").exists():
        info("note: no dependencies yet, so there is nothing to vendor; run `make vendor` after adding one.")
        return
    go = shutil.which("go")
    if go is None:
        raise HookError("vendor_dependencies is on but the `go` command is not on PATH: install Go, then retry")
    result = subprocess.run([go, "mod", "vendor"], cwd=project, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(project / "vendor", ignore_errors=True)
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise HookError(f"`go mod vendor` failed: {detail}")


def remove_empty_directories(project: Path) -> None:
    """Remove the folders that unchosen files left empty (portals without hooks keep them).

    Cookiecutter skips a file whose name renders empty but still creates its folder, so an unchosen
    option (CI, Kubernetes, the database, an option's tools/<name> module) leaves folders empty. The
    skeleton has no folder meant to be empty (git keeps none): every empty one goes, deepest first, so
    that a parent left empty goes too, and an option's folders need no list here.
    """
    folders = sorted((path for path in project.rglob("*") if path.is_dir() and not path.is_symlink()), reverse=True)
    for directory in folders:
        if ".git" not in directory.relative_to(project).parts and not any(directory.iterdir()):
            directory.rmdir()


def print_next_steps(project: Path) -> None:
    """Tell the user how to run what they just generated."""
    info(f"Created {project.name}. Next: cd {project.name} && make help")


def main() -> int:
    """Apply the answers that need more than templating."""
    project = Path.cwd()
    https_client = ANSWERS["__https_client"] == "True"
    vendoring = ANSWERS["__vendor_dependencies"] == "True"
    try:
        if not https_client:
            drop_ca_bundle(project)
        if vendoring:
            vendor_dependencies(project)
        remove_empty_directories(project)
    except HookError as err:
        error(str(err))
        return 1
    print_next_steps(project)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
