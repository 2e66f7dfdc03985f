"""Every version a generated project pins, read from its files, for the tests of the update bots.

Each pin names the file it sits in, the dependency and its version (and digest, for SHA-pinned
actions), so that a test can look it up in what Renovate extracts or in what Dependabot reads.
Nothing here is a list of expected pins: whatever the files pin is found.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Pin:
    """One pinned version: where it is, what it names, which version (and commit or image digest)."""

    file: str
    name: str
    version: str
    digest: str | None = None
    kind: str = ""


FROM_LINE = re.compile(
    r"^FROM\s+(?:--platform=\S+\s+)?(?P<image>[^\s$]+?)(?:@(?P<digest>sha256:[0-9a-f]{64}))?(?:\s|$)"
)
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})\s*#\s*(?P<version>v\S+)")
RENOVATE_COMMENT = re.compile(
    r"# renovate: datasource=(?P<datasource>\S+) depName=(?P<name>\S+)\n\s*(?P<key>\w+): \"?(?P<version>[^\"\s]+)"
)
REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s#;]+)")


def split_image(image: str) -> tuple[str, str]:
    """Split image[:tag] into its name and tag ("" without a tag)."""
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    return name, tag


def dockerfile_pins(project: Path) -> list[Pin]:
    """The images that the FROM lines of every Dockerfile name by themselves (not a stage, an ARG or scratch)."""
    pins = []
    for path in sorted(project.rglob("Dockerfile")):
        if "vendor" in path.relative_to(project).parts:
            continue
        text = path.read_text(encoding="utf-8")
        stages = set(re.findall(r"^FROM\s.*\sAS\s+(\S+)$", text, re.MULTILINE))
        for line in text.splitlines():
            match = FROM_LINE.match(line)
            if not match or match["image"] in stages | {"scratch"}:
                continue
            name, tag = split_image(match["image"])
            pins.append(Pin(str(path.relative_to(project)), name, tag, match["digest"], "image"))
    return pins


# An image a Compose service names itself, or as the default of a variable: ${NAME:-image}.
COMPOSE_IMAGE = re.compile(r"^(?:\$\{\w+:-(?P<default>[^}]+)\}|(?P<image>[^\s$]+))$")


def compose_pins(project: Path) -> list[Pin]:
    """The registry images that compose.yaml's services name (a default of ${VAR:-...} counts), with digests."""
    path = project / "compose.yaml"
    if not path.exists():
        return []
    pins = []
    for service in yaml.safe_load(path.read_text(encoding="utf-8"))["services"].values():
        match = COMPOSE_IMAGE.match(str(service.get("image", "")))
        reference = match and (match["default"] or match["image"])
        if not reference or "$" in reference or service.get("build") or service.get("pull_policy") == "never":
            continue  # the project's own image, built here: nothing to update
        image, _, digest = reference.partition("@")
        name, tag = split_image(image)
        pins.append(Pin("compose.yaml", name, tag, digest or None, "compose-image"))
    return pins


def workflow_pins(project: Path) -> list[Pin]:
    """The actions of every GitHub workflow: owner/name, the release in the comment and the commit SHA."""
    pins = []
    for path in sorted((project / ".github" / "workflows").glob("*.yml")):
        relative = str(path.relative_to(project))
        for line in path.read_text(encoding="utf-8").splitlines():
            if match := USES.match(line):
                pins.append(Pin(relative, match["action"], match["version"], match["sha"], "action"))
    return sorted(set(pins), key=lambda pin: (pin.file, pin.name))


def gitlab_images(config: dict[str, Any]) -> list[str]:
    """Every image and service image that .gitlab-ci.yml names, the default's included."""
    images = []
    for job in config.values():
        if not isinstance(job, dict):
            continue
        for entry in [job.get("image"), *job.get("services", [])]:
            if entry is not None:
                images.append(entry["name"] if isinstance(entry, dict) else entry)
    return images


def gitlab_pins(project: Path) -> list[Pin]:
    """The images of .gitlab-ci.yml (those named through a variable count as that variable) and marked variables."""
    path = project / ".gitlab-ci.yml"
    text = path.read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    pins = []
    for reference in gitlab_images(config):
        image, _, digest = reference.partition("@")
        name, tag = split_image(image)
        if tag.startswith("$"):
            variable = tag.removeprefix("$").strip("{}")
            pins.append(Pin(".gitlab-ci.yml", name, str(config["variables"][variable]), None, "image-variable"))
        else:
            pins.append(Pin(".gitlab-ci.yml", name, tag, digest or None, "image"))
    for match in RENOVATE_COMMENT.finditer(text):
        pins.append(Pin(".gitlab-ci.yml", match["name"], match["version"], None, f"variable:{match['datasource']}"))
    return sorted(set(pins), key=lambda pin: (pin.name, pin.version))


def go_mod(path: Path) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """The requirements (path, version, indirect) and the tool directives of a go.mod."""
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"^require \((.*?)^\)", text, re.MULTILINE | re.DOTALL)
    lines = [line for block in blocks for line in block.splitlines()]
    lines += re.findall(r"^require (\S+ \S+.*)$", text, re.MULTILINE)
    requires = []
    for line in lines:
        if fields := line.split():
            requires.append((fields[0], fields[1], "// indirect" in line))
    tools = re.findall(r"^tool ([^\s(]\S*)$", text, re.MULTILINE)
    for block in re.findall(r"^tool \((.*?)^\)", text, re.MULTILINE | re.DOTALL):
        tools += block.split()
    return requires, tools


def tool_module(tool: str, requires: list[tuple[str, str, bool]]) -> tuple[str, str]:
    """The required module (path, version) that provides a tool's package: the longest path prefix."""
    owners = [(path, version) for path, version, _ in requires if tool == path or tool.startswith(f"{path}/")]
    assert owners, f"no requirement provides the tool {tool}"
    return max(owners, key=lambda owner: len(owner[0]))


def go_pins(project: Path) -> list[Pin]:
    """go.mod's direct requirements, and the module of every tool that a go.mod under tools/ pins."""
    requires, _ = go_mod(project / "go.mod")
    pins = [Pin("go.mod", path, version, None, "module") for path, version, indirect in requires if not indirect]
    for path in sorted((project / "tools").glob("**/go.mod")):
        relative = str(path.relative_to(project))
        requires, tools = go_mod(path)
        for name, version in sorted({tool_module(tool, requires) for tool in tools}):
            pins.append(Pin(relative, name, version, None, "tool"))
    return pins


def npm_pins(project: Path) -> list[Pin]:
    """The dependencies of each package.json under tools/ (the Node tools options pin, with a lock file)."""
    pins = []
    for path in sorted((project / "tools").glob("**/package.json")):
        if "node_modules" in path.relative_to(project).parts:
            continue
        manifest = json.loads(path.read_text(encoding="utf-8"))
        relative = str(path.relative_to(project))
        for name, version in sorted(manifest.get("dependencies", {}).items()):
            pins.append(Pin(relative, name, version, None, "npm"))
    return pins


def requirements_pins(project: Path) -> list[Pin]:
    """The name==version lines of requirements-ci.txt."""
    path = project / "requirements-ci.txt"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Pin(path.name, m["name"], m["version"], None, "pypi") for line in lines if (m := REQUIREMENT.match(line))]


def pre_commit_pins(project: Path) -> list[Pin]:
    """The name==version additional dependencies of the pre-commit hooks."""
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    pins = set()
    for repo in config["repos"]:
        for hook in repo["hooks"]:
            for dependency in hook.get("additional_dependencies", []):
                match = REQUIREMENT.match(dependency)
                assert match, f"hook {hook['id']}: {dependency} is not pinned as name==version"
                pins.add(Pin(".pre-commit-config.yaml", match["name"], match["version"], None, "pre-commit"))
    return sorted(pins, key=lambda pin: pin.name)


def project_pins(project: Path) -> list[Pin]:
    """Every pin of the project, from every file that pins versions."""
    pins = dockerfile_pins(project) + compose_pins(project) + go_pins(project) + requirements_pins(project)
    pins += npm_pins(project)
    pins += pre_commit_pins(project)
    if (project / ".github").exists():
        pins += workflow_pins(project)
    if (project / ".gitlab-ci.yml").exists():
        pins += gitlab_pins(project)
    return pins


VERSION_LITERAL = re.compile(r"(?<![\w.-])v?\d+\.\d+(?:\.\d+)?(?![\w.])")


def stray_versions(path: Path, pins: list[Pin]) -> list[str]:
    """Version-like literals in a CI file's non-comment text that no pin of that file accounts for."""
    known = [pin.version for pin in pins]
    stray = []
    for line in path.read_text(encoding="utf-8").splitlines():
        code = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        for literal in VERSION_LITERAL.findall(code):
            if not any(literal in version for version in known):
                stray.append(f"{literal} in: {line.strip()}")
    return stray
