"""actions/upload-artifact's contract (v4), offline: copy the matched files into $HARNESS_ARTIFACT_DIR/<name>.

As the real action: the artifact's root is the least common ancestor of the search paths (a directory's
contents, a file's folder, a pattern's part before its first wildcard); hidden files are left out unless
include-hidden-files; an existing name is an error unless overwrite.
"""

import glob
import hashlib
import os
import shutil
import sys
from pathlib import Path


def fail(message: str) -> None:
    """Fail the step with an error annotation."""
    print(f"::error::{message}")
    sys.exit(1)


def search_root(pattern: str) -> Path:
    """The folder a pattern starts from: its part before the first wildcard; a file's folder; a directory itself."""
    parts = Path(pattern).parts
    fixed = parts[: next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))]
    root = Path(*fixed) if fixed else Path(".")
    return root if root.is_dir() or len(fixed) < len(parts) else root.parent


def hidden(path: Path, root: Path) -> bool:
    """Whether a file, or a folder it is in below root, is hidden."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def matched_files(patterns: list[str], excludes: list[str]) -> set[Path]:
    """The files the patterns name, directories expanded, exclusions removed."""
    files: set[Path] = set()
    for pattern in patterns:
        for match in glob.glob(pattern, recursive=True, include_hidden=True):
            path = Path(match)
            if path.is_dir():
                files.update(p for p in path.rglob("*") if p.is_file())
            elif path.is_file():
                files.add(path)
    for pattern in excludes:
        excluded = {Path(m) for m in glob.glob(pattern, recursive=True, include_hidden=True)}
        files = {f for f in files if not any(f == e or e in f.parents for e in excluded)}
    return files


def main() -> None:
    """Upload as the inputs say; write the step's outputs."""
    store = os.environ.get("HARNESS_ARTIFACT_DIR")
    if not store:
        fail("HARNESS_ARTIFACT_DIR is not set: run this stand-in through harness/runners.py")
    name = os.environ["INPUT_NAME"] or "artifact"
    lines = [line.strip() for line in os.environ["INPUT_PATH"].splitlines() if line.strip()]
    patterns = [os.path.expanduser(line) for line in lines if not line.startswith("!")]
    excludes = [os.path.expanduser(line[1:]) for line in lines if line.startswith("!")]
    root = Path(os.path.commonpath([search_root(p).absolute() for p in patterns]))
    files = {f.absolute() for f in matched_files(patterns, excludes)}
    if os.environ["INPUT_INCLUDE_HIDDEN_FILES"] != "true":
        files = {f for f in files if not hidden(f, root)}
    if not files:
        message = f"No files were found with the provided path: {os.environ['INPUT_PATH']}. No artifact uploaded."
        behaviour = os.environ["INPUT_IF_NO_FILES_FOUND"]
        if behaviour == "error":
            fail(message)
        if behaviour == "warn":
            print(f"::warning::{message}")
        return
    target = Path(store) / name
    if target.exists():
        if os.environ["INPUT_OVERWRITE"] != "true":
            fail(f"an artifact named {name} already exists in this run (overwrite: true replaces it)")
        shutil.rmtree(target)
    digest = hashlib.sha256()
    for file in sorted(files):
        relative = file.relative_to(root)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target / relative)
        digest.update(str(relative).encode() + b"\0" + file.read_bytes())
    artifact_id = len(list(Path(store).iterdir()))
    print(f"Uploaded {len(files)} file(s) as artifact {name}")
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as outputs:
        outputs.write(
            f"artifact-id={artifact_id}\nartifact-url={target.as_uri()}\nartifact-digest={digest.hexdigest()}\n"
        )


main()
