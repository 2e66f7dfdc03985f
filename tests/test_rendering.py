"""Rendering: every answer combination gives the files, Dockerfile and ignore rules it asked for."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from harness.answers import COOKIECUTTER_JSON, SLUG, VERBATIM, cases
from harness.project import GO_VERSION, Bake, uses_postgres
from harness.template import CA_BUNDLE, TEMPLATE_DIR, ca_bundle_copied, ca_bundle_expected
from harness.tools import run

# Jinja text left in a generated file; `${{ ... }}` is GitHub Actions syntax and may stay.
UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|\{#|cookiecutter\.")
# Templates of other tools that generated files carry on purpose: docker/metadata-action's semver
# patterns ({{version}}) and Go templates of docker --format ({{ .Manifest.Digest }}, {{ json .SBOM }}).
OTHER_TOOLS_TEMPLATES = re.compile(r"pattern=(\{\{(version|major|minor)\}\}\.?)+|\{\{ ?(json )?\.[A-Z][\w.]* ?\}\}")


def generated_files(project: Path) -> list[Path]:
    """Every generated file, without the vendored third-party code."""
    return sorted(p for p in project.rglob("*") if p.is_file() and "vendor" not in p.relative_to(project).parts)


def parse_dockerfile(project: Path) -> DockerfileParser:
    """Parse the project's Dockerfile."""
    return DockerfileParser(path=str(project / "Dockerfile"))


def final_stage(parser: DockerfileParser) -> list[dict[str, str]]:
    """The instructions of the last stage, from its FROM on."""
    instructions = parser.structure
    last_from = max(i for i, instruction in enumerate(instructions) if instruction["instruction"] == "FROM")
    return instructions[last_from:]


def values(instructions: list[dict[str, str]], name: str) -> list[str]:
    """The values of every instruction called name."""
    return [instruction["value"] for instruction in instructions if instruction["instruction"] == name]


def description_label(project: Path) -> str:
    r"""The description label as Docker reads it: inside double quotes, \ escapes ", $ and itself."""
    match = re.search(r'image\.description="((?:[^"\\]|\\.)*)"', (project / "Dockerfile").read_text(encoding="utf-8"))
    assert match, "no description label"
    return re.sub(r'\\(["$\\])', r"\1", match.group(1))


def test_every_combination_renders_all_template_text(combination: tuple[dict[str, Any], Path]) -> None:
    """No generated file keeps Jinja syntax or a cookiecutter variable."""
    _, project = combination
    leftovers = [
        f"{path.relative_to(project)}:{number}: {line.strip()}"
        for path in generated_files(project)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if UNRENDERED.search(OTHER_TOOLS_TEMPLATES.sub("", line))
    ]
    assert leftovers == []


# What database=postgres adds to a project.
POSTGRES_FILES = (
    "database.go",
    "database_test.go",
    "migrate.go",
    "notes.go",
    "notes_test.go",
    "queries.sql",
    "sqlc.yaml",
    "migrations/00001_create_notes.sql",
    "internal/db/queries.sql.go",
    "tools/sqlc/go.mod",
    "tools/sqlc/go.sum",
)


def test_every_combination_has_the_files_it_chose(combination: tuple[dict[str, Any], Path]) -> None:
    """Metrics bring metrics.go, tracing tracing.go, postgres its files; any of them go.sum, and vendoring vendor/."""
    answers, project = combination
    for name in ("main.go", "go.mod", "Dockerfile", ".dockerignore", "Makefile", "README.md"):
        assert (project / name).is_file(), name
    metrics, tracing, postgres = answers["prometheus_metrics"], answers["opentelemetry"], uses_postgres(answers)
    assert (project / "metrics.go").exists() == metrics
    assert (project / "tracing.go").exists() == tracing
    assert (project / "tracing_test.go").exists() == tracing
    for name in POSTGRES_FILES:
        assert (project / name).exists() == postgres, name
    assert (project / "go.sum").exists() == (metrics or tracing or postgres)
    dependencies = metrics or tracing or postgres
    assert (project / "vendor" / "modules.txt").exists() == (dependencies and answers["vendor_dependencies"])
    assert ("addMetrics(&d, cfg.MetricsPort)" in (project / "main.go").read_text()) == metrics
    assert ("otelhttp" in (project / "go.mod").read_text()) == tracing
    assert ("github.com/jackc/pgx/v5" in (project / "go.mod").read_text()) == postgres


def test_dockerfile_final_stage_is_scratch_with_numeric_user(combination: tuple[dict[str, Any], Path]) -> None:
    """The image is FROM scratch, runs as 65534:65534 and uses exec forms only."""
    _, project = combination
    stage = final_stage(parse_dockerfile(project))
    assert stage[0]["value"] == "scratch"
    assert values(stage, "USER") == ["65534:65534"]
    (entrypoint,) = values(stage, "ENTRYPOINT")
    assert entrypoint == f'["/{SLUG}"]'
    (healthcheck,) = values(stage, "HEALTHCHECK")
    assert re.search(rf'CMD \["/{SLUG}", "-healthcheck"\]$', healthcheck), healthcheck
    assert values(stage, "EXPOSE") == ["8080"]


def test_dockerfile_copies_ca_bundle_only_for_https(combination: tuple[dict[str, Any], Path]) -> None:
    """The CA bundle is copied into the final image exactly when https_client is on, and leaves no residue."""
    answers, project = combination
    text = (project / "Dockerfile").read_text()
    copies = values(final_stage(parse_dockerfile(project)), "COPY")
    assert any(CA_BUNDLE in copy for copy in copies) == answers["https_client"]
    assert ("CA bundle" in text) == answers["https_client"]
    assert "\n\n\n" not in text


def test_image_test_expects_the_ca_bundle_the_dockerfile_copies(combination: tuple[dict[str, Any], Path]) -> None:
    """container-structure-test.yaml expects the CA bundle exactly when the Dockerfile copies it (hooks run here)."""
    answers, project = combination
    assert ca_bundle_expected(project) == ca_bundle_copied(project) == answers["https_client"]


def test_dockerfile_build_stage_matches_vendoring(combination: tuple[dict[str, Any], Path]) -> None:
    """Vendored builds use -mod=vendor and no download; module builds download in a cached layer of their own."""
    answers, project = combination
    parser = parse_dockerfile(project)
    runs = values(parser.structure, "RUN")
    vendored = answers["vendor_dependencies"]
    assert any("go mod download" in run for run in runs) != vendored
    assert ("GOFLAGS=-mod=vendor" in values(parser.structure, "ENV")) == vendored
    assert any("run 'go mod vendor'" in run for run in runs) == vendored
    (build,) = [run for run in runs if "go build" in run]
    for fragment in ("CGO_ENABLED=0", "-trimpath", "-s -w", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH"):
        assert fragment in build
    assert "--mount=type=cache,target=/root/.cache/go-build" in build
    assert parser.baseimage == "scratch"
    froms = values(parser.structure, "FROM")
    assert froms[:2] == [
        f"--platform=$BUILDPLATFORM golang:{GO_VERSION}-alpine AS golang-builder",
        "--platform=$BUILDPLATFORM ${GOLANG_IMAGE} AS build",
    ]


def test_dockerignore_excludes_vendor_only_without_vendoring(combination: tuple[dict[str, Any], Path]) -> None:
    """vendor/ reaches the build context exactly when dependencies are vendored."""
    answers, project = combination
    rules = (project / ".dockerignore").read_text().splitlines()
    assert ".git" in rules
    assert ("vendor/" in rules) != answers["vendor_dependencies"]


# --- The builder image -------------------------------------------------------------------

# The index digest of golang:1.27-alpine (then the Go 1.27.1 release) recorded in docker-library/repo-info.
GOLANG_1_27_ALPINE_DIGEST = "sha256:cf6fca6641884b8433441b2b0652976f975e1d0fdd26d177eaaf8596087f3125"

# go_version answers: the default, a line (with a recorded digest), one with a patch, the oldest accepted, the local Go.
GO_VERSION_ANSWERS = {
    "default": COOKIECUTTER_JSON["go_version"],
    "line-1.27": "1.27",
    "patch-1.27.1": "1.27.1",
    "no-patch-1.26": "1.26",
    "patch-1.24.3": "1.24.3",
    "oldest-1.22": "1.22",
    "local-go": GO_VERSION,
}

# What Dependabot's docker file parser reads: a FROM line naming the image itself, never through an ARG.
PINNED_FROM = re.compile(
    r"^FROM --platform=\$BUILDPLATFORM golang:(?P<tag>[0-9.]+)-alpine(@(?P<digest>sha256:[0-9a-f]{64}))?"
    r" AS golang-builder$",
    re.MULTILINE,
)


def builder_pin(project: Path) -> re.Match[str]:
    """The FROM line that pins the official builder image."""
    match = PINNED_FROM.search((project / "Dockerfile").read_text(encoding="utf-8"))
    assert match, "no pinned golang-builder stage"
    return match


def go_line(project: Path) -> str:
    """The version in go.mod's go line."""
    match = re.search(r"^go (\S+)$", (project / "go.mod").read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "no go line"
    return match.group(1)


def release(version: str) -> str:
    """Name a Go release with its patch number: "1.27" is the release 1.27.0 and later (go.mod may write either)."""
    return version if version.count(".") == 2 else f"{version}.0"


@pytest.mark.parametrize("answer", GO_VERSION_ANSWERS.values(), ids=GO_VERSION_ANSWERS.keys())
def test_go_mod_and_dockerfile_name_the_same_go_release(bake: Bake, answer: str) -> None:
    """go.mod's go line and the tag of the pinned builder image both name the answered Go release."""
    project = bake(go_version=answer)
    tag = builder_pin(project)["tag"]
    assert release(tag) == release(go_line(project)) == release(answer)


@pytest.mark.parametrize("answer", ["1.27", "1.27.1"])
def test_builder_image_with_a_recorded_digest_is_pinned_by_tag_and_digest(bake: Bake, answer: str) -> None:
    """golang:1.27-alpine and golang:1.27.1-alpine are pinned by tag and by the digest of the recorded index."""
    pin = builder_pin(bake(go_version=answer))
    assert (pin["tag"], pin["digest"]) == (answer, GOLANG_1_27_ALPINE_DIGEST)


def test_default_builder_image_is_the_default_release_by_tag(bake: Bake) -> None:
    """The default pins golang:<default>-alpine by tag: no public record of its index digest was found to pin."""
    default = COOKIECUTTER_JSON["go_version"]
    pin = builder_pin(bake(go_version=default))
    assert (pin["tag"], pin["digest"]) == (default, None)


def test_builder_image_without_recorded_digest_says_how_to_pin_it(bake: Bake) -> None:
    """A go_version with no recorded digest gets a tag pin and the command that prints the digest."""
    project = bake(go_version="1.24.3")
    assert builder_pin(project)["digest"] is None
    assert "docker buildx imagetools inspect golang:1.24.3-alpine" in (project / "Dockerfile").read_text()


def test_builder_image_is_a_build_argument_defaulting_to_the_pinned_stage(bake: Bake) -> None:
    """ARG GOLANG_IMAGE, declared before any FROM, names the build stage's base: the pinned stage by default."""
    instructions = [i for i in parse_dockerfile(bake()).structure if i["instruction"] != "COMMENT"]
    assert instructions[0]["instruction"] == "ARG"
    assert instructions[0]["value"] == "GOLANG_IMAGE=golang-builder"
    assert [i["value"] for i in instructions if i["value"].endswith(" AS build")] == [
        "--platform=$BUILDPLATFORM ${GOLANG_IMAGE} AS build"
    ]


def test_make_docker_build_passes_golang_image_from_the_environment(bake: Bake) -> None:
    """`make docker-build` hands GOLANG_IMAGE to docker build by name, so its value is read as data, never as shell."""
    makefile = (bake() / "Makefile").read_text(encoding="utf-8")
    (recipe,) = [line for line in makefile.splitlines() if line.startswith('\t"$$DOCKER" build')]
    assert "--build-arg GOLANG_IMAGE " in recipe


def test_port_answer_reaches_code_image_and_docs(bake: Bake) -> None:
    """A non-default port becomes the Go default, the EXPOSEd port and the documented one."""
    project = bake(port="9090")
    assert "defaultPort            = 9090" in (project / "config.go").read_text()
    assert values(final_stage(parse_dockerfile(project)), "EXPOSE") == ["9090"]
    assert "`9090`" in (project / "README.md").read_text()


METRICS_PORTS = {"8080": 9090, "9090": 9091}


@pytest.mark.parametrize(("port", "metrics_port"), METRICS_PORTS.items(), ids=[f"port:{p}" for p in METRICS_PORTS])
def test_metrics_port_default_differs_from_the_port(bake: Bake, port: str, metrics_port: int) -> None:
    """The admin listener's default METRICS_PORT is 9090, or 9091 when the service itself answers on 9090."""
    project = bake(port=port, prometheus_metrics=True)
    assert f"defaultMetricsPort     = {metrics_port}\n" in (project / "config.go").read_text()
    assert f"`METRICS_PORT` | `{metrics_port}`" in (project / "README.md").read_text()


def test_generation_is_deterministic(bake: Bake) -> None:
    """Two runs with the same answers give byte-identical trees, so template updates diff cleanly."""
    first = bake(prometheus_metrics=True, vendor_dependencies=True)
    second = bake(prometheus_metrics=True, vendor_dependencies=True)
    assert first.parent != second.parent

    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert tree(first) == tree(second)


ODD_BUT_VALID = [pytest.param(case.answers, id=case.id) for case in cases(VERBATIM)]


@pytest.mark.parametrize("answers", ODD_BUT_VALID)
def test_odd_but_valid_answers_are_kept_verbatim(bake: Bake, answers: dict[str, str]) -> None:
    """Quotes, unicode and shell-looking text arrive as written in README and image label, and the code builds."""
    project = bake(**answers)
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", project.name), project.name
    assert (project / "README.md").read_text(encoding="utf-8").startswith(f"# {answers['project_name']}\n")
    assert description_label(project) == answers["description"]
    run(["go", "vet", "./..."], cwd=project)


def test_jinja_looking_answers_are_rendered_like_any_cookiecutter_default(bake: Bake) -> None:
    """Cookiecutter renders answers as Jinja (in the sandbox) before the hooks: harmless expressions become text."""
    project = bake(
        project_name="Service {{ 7 * 7 }}", description="Answers {{ 'x' | upper }} {% if true %}ok{% endif %}"
    )
    assert project.name == "service-49"
    assert (project / "README.md").read_text().startswith("# Service 49\n\nAnswers X ok\n")
    run(["go", "vet", "./..."], cwd=project)


def test_default_go_version_is_a_current_patch_release() -> None:
    """The default go_version is a patch release of the newest line, past the vulnerable 1.27.0-1.27.2."""
    default = COOKIECUTTER_JSON["go_version"]
    assert re.fullmatch(r"1\.\d+\.\d+", default), default
    assert tuple(int(part) for part in default.split(".")) >= (1, 27, 3)
    assert int(GO_VERSION.split(".")[1]) >= 22


def test_catalog_info_names_its_template_and_release(bake: Bake) -> None:
    """The Component names the Template of template.yaml (annotation and spec.scaffoldedFrom) and the release made."""
    project = bake()
    component, *_ = yaml.safe_load_all((project / "catalog-info.yaml").read_text(encoding="utf-8"))
    template = yaml.safe_load((TEMPLATE_DIR / "template.yaml").read_text(encoding="utf-8"))
    reference = f"template:default/{template['metadata']['name']}"
    annotations = component["metadata"]["annotations"]
    assert annotations["backstage.io/source-template"] == component["spec"]["scaffoldedFrom"] == reference
    assert annotations["backstage.io/template-version"] == COOKIECUTTER_JSON["version"]
    recorded = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert annotations["backstage.io/template-version"] == recorded["context"]["cookiecutter"]["version"]
