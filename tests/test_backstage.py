"""Backstage, with Backstage's own code: the real fetch:cookiecutter action, where the Template lives, the validators.

The action (``@backstage/plugin-scaffolder-backend-module-cookiecutter``) runs through
``createMockActionContext`` with cookiecutter from the test environment on PATH. Its input is the
Template's step, rendered by the scaffolder's own template engine. It fetches only the skeleton
folder, so the template's hooks never run there: what it makes must be a sensible project as is.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.answers import CATALOG, COOKIECUTTER_JSON, SLUG, cases
from harness.backstage import (
    GITHUB_CATALOG_INFO_URL,
    GITHUB_REPOSITORY,
    GITHUB_TEMPLATE_URL,
    TEMPLATE_YAML,
    Backstage,
    BackstageRefused,
    Fetched,
    entities_job,
    fetch_job,
    form_answers,
    validate_job,
    values_job,
)
from harness.docker import DockerError, build_image, remove_images
from harness.project import COMBINATIONS, GO_VERSION, TEMPLATE_DIR, Bake, answers_id, uses_postgres
from harness.template import ca_bundle_copied, ca_bundle_expected
from harness.tools import require_tool, run

SKELETON = "{{cookiecutter.project_slug}}"
IMAGE_REPOSITORY = "go-scratch-service-backstage-test"

# The renders of every combination share one Node process: keep their tests on one worker.
pytestmark = pytest.mark.node  # every test here runs Backstage's own code
RENDERS_GROUP = pytest.mark.xdist_group("backstage-renders")


def parameters(**answers: Any) -> dict[str, Any]:
    """The form's answers for a project that builds with the Go installed here."""
    return form_answers(go_version=GO_VERSION, **answers)


# --- The step's input, as the scaffolder renders it ------------------------------------------------


def test_step_input_leaves_derived_answers_to_cookiecutter(backstage: Backstage) -> None:
    """Left empty, the slug is cookiecutter's own derivation and the module path names the chosen repository."""
    values = backstage.run(values_job(form_answers()))["values"]
    assert values["project_slug"] == COOKIECUTTER_JSON["project_slug"]
    assert values["module_path"] == "github.com/acme/billing"
    assert values["version"] == COOKIECUTTER_JSON["version"]


def test_step_input_keeps_the_form_types(backstage: Backstage) -> None:
    """Numbers and booleans reach cookiecutter.json as JSON numbers and booleans, and the private answers verbatim."""
    values = backstage.run(values_job(form_answers(https_client=False)))["values"]
    assert values["port"] == 8080
    assert values["https_client"] is False
    assert values["kubernetes"] is True
    for key in ("__https_client", "__vendor_dependencies", "__prometheus_metrics", "__kubernetes"):
        assert values[key] == COOKIECUTTER_JSON[key], key


# --- Where the Template is registered from ------------------------------------------------------------


def test_template_registered_as_a_file_location_generates_the_project(backstage: Backstage, tmp_path: Path) -> None:
    """The repository's template.yaml, registered as a file location (a dev Backstage), fetches its skeleton."""
    fetched = backstage.fetch(fetch_job(tmp_path, parameters()))
    assert fetched.input["url"] == f"./{SKELETON}"
    assert fetched.read_urls == []  # copied from disk, not read through a URL reader
    assert (fetched.project / "main.go").is_file()
    assert not (fetched.project / "hooks").exists()


def test_template_registered_from_github_fetches_the_skeleton_on_its_branch(
    backstage: Backstage, tmp_path: Path
) -> None:
    """From its GitHub URL, Backstage's GitHub integration resolves the step's url to the skeleton folder."""
    served = {"url": f"{GITHUB_REPOSITORY}/tree/main/", "directory": str(TEMPLATE_DIR)}
    fetched = backstage.fetch(fetch_job(tmp_path, parameters(), base_url=GITHUB_TEMPLATE_URL, served=served))
    assert fetched.read_urls == [f"{GITHUB_REPOSITORY}/tree/main/%7B%7Bcookiecutter.project_slug%7D%7D"]
    assert (fetched.project / "main.go").is_file()


# Where template.yaml sits in a repository laid out like this one, and what a file location gives.
LAYOUTS: dict[str, tuple[str, str, str | None]] = {
    "beside-the-skeleton": (".", f"./{SKELETON}", None),
    "in-a-subfolder": ("backstage", f"../{SKELETON}", "NotAllowedError"),
}


@pytest.mark.parametrize(("folder", "url", "refusal"), LAYOUTS.values(), ids=LAYOUTS.keys())
def test_file_location_fetches_only_below_the_template(
    backstage: Backstage, tmp_path: Path, folder: str, url: str, refusal: str | None
) -> None:
    """A Template registered from a file may fetch its own folder's children only: ../ is refused."""
    repository = tmp_path / "repository"
    shutil.copytree(TEMPLATE_DIR / SKELETON, repository / SKELETON)
    template = repository / folder / "template.yaml"
    template.parent.mkdir(parents=True, exist_ok=True)
    text = TEMPLATE_YAML.read_text(encoding="utf-8")
    template.write_text(text.replace(f"url: ./{SKELETON}", f"url: {url}"), encoding="utf-8")
    job = fetch_job(tmp_path, parameters(), template=template)
    if refusal is None:
        assert (backstage.fetch(job).project / "main.go").is_file()
    else:
        with pytest.raises(BackstageRefused) as refused:
            backstage.run(job)
        assert refused.value.name == refusal
        assert "outside its parent" in refused.value.message


# --- Every combination, made by the real action (no hooks) ---------------------------------------------


@pytest.fixture(scope="module")
def renders(backstage: Backstage, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Fetched, Any]]:
    """Every combination of the boolean options through fetch:cookiecutter, and its catalog-info.yaml validated."""
    root = tmp_path_factory.mktemp("backstage-renders")
    jobs = {answers_id(c): fetch_job(root / answers_id(c), parameters(**c)) for c in COMBINATIONS}
    results = backstage.run_all(list(jobs.values()))
    for result in results:
        if isinstance(result, BackstageRefused):
            raise result
    fetched = {name: Fetched.of(jobs[name], result) for name, result in zip(jobs, results, strict=True)}
    checks = backstage.run_all([validate_job(f.project / "catalog-info.yaml") for f in fetched.values()])
    return {name: (fetched[name], check) for name, check in zip(fetched, checks, strict=True)}


def catalog_entities(slug: str, answers: dict[str, Any]) -> list[str]:
    """The entities catalog-info.yaml registers: the Component, then the API it provides with the OpenAPI option."""
    return [f"component:default/{slug}"] + ([f"api:default/{slug}"] if answers.get("api") == "openapi" else [])


def combination_with(**chosen: bool) -> dict[str, bool]:
    """The first of the covered combinations that has the chosen options."""
    return next(c for c in COMBINATIONS if all(c[key] == value for key, value in chosen.items()))


COMBINATION_PARAMS = [pytest.param(c, id=answers_id(c), marks=RENDERS_GROUP) for c in COMBINATIONS]


@pytest.mark.parametrize("combination", COMBINATION_PARAMS)
def test_action_renders_the_chosen_files(renders: dict[str, tuple[Fetched, Any]], combination: dict[str, Any]) -> None:
    """Each combination gives its files; vendor/ is never made (no hook) and the Dockerfile says so when needed."""
    fetched, _ = renders[answers_id(combination)]
    project = fetched.project
    assert (project / "metrics.go").is_file() == combination["prometheus_metrics"]
    has_dependencies = combination["prometheus_metrics"] or combination.get("opentelemetry", False)
    has_dependencies = has_dependencies or uses_postgres(combination)
    assert (project / "migrate.go").is_file() == uses_postgres(combination)
    assert (project / "go.sum").is_file() == has_dependencies
    assert not (project / "vendor").exists()
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    assert ("GOFLAGS=-mod=vendor" in dockerfile) == combination["vendor_dependencies"]
    assert ("run 'go mod vendor'" in dockerfile) == combination["vendor_dependencies"]


@pytest.mark.parametrize("combination", COMBINATION_PARAMS)
def test_action_render_image_test_expects_what_the_dockerfile_copies(
    renders: dict[str, tuple[Fetched, Any]], combination: dict[str, bool]
) -> None:
    """Without the hook, the Dockerfile keeps the CA bundle and container-structure-test.yaml expects it."""
    fetched, _ = renders[answers_id(combination)]
    assert ca_bundle_copied(fetched.project)
    assert ca_bundle_expected(fetched.project)


@pytest.mark.parametrize("combination", COMBINATION_PARAMS)
def test_action_render_catalog_info_passes_backstage_validators(
    renders: dict[str, tuple[Fetched, Any]], combination: dict[str, bool]
) -> None:
    """The generated catalog-info.yaml is a Component (and with the OpenAPI option an API) that the catalog accepts."""
    _, check = renders[answers_id(combination)]
    assert check == catalog_entities(SLUG, combination)


# --- Images of projects the action made -------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.slow
@RENDERS_GROUP
@pytest.mark.parametrize("https_client", [True, False], ids=["https:yes", "https:no"])
def test_action_project_passes_make_image_test(
    renders: dict[str, tuple[Fetched, Any]],
    golang_image: str,
    structure_test: str,
    docker_first_on_path: str,
    https_client: bool,
) -> None:
    """Made without hooks, the project (the default one, then without HTTPS) builds its image and passes image-test."""
    answers = combination_with(https_client=https_client, vendor_dependencies=False, prometheus_metrics=False)
    fetched, _ = renders[answers_id(answers)]
    repository = f"{IMAGE_REPOSITORY}-{'https' if https_client else 'plain'}-{os.getpid()}"
    try:
        command = [require_tool("make"), "image-test", f"IMAGE={repository}"]
        env = {"PATH": docker_first_on_path, "GOLANG_IMAGE": golang_image}
        output = run(command, cwd=fetched.project, env=env)
    finally:
        remove_images(f"{repository}:dev", f"{repository}:latest")
    assert re.search(r"^PASS$", output, re.MULTILINE), output
    assert re.search(r"^Failures:\s+0$", output, re.MULTILINE), output


@pytest.mark.docker
@pytest.mark.slow
@RENDERS_GROUP
def test_action_vendoring_project_image_build_says_run_go_mod_vendor(
    renders: dict[str, tuple[Fetched, Any]], golang_image: str
) -> None:
    """A vendoring project with a dependency, made without the vendoring hook, stops at the image build with the fix."""
    fetched, _ = renders[answers_id(combination_with(vendor_dependencies=True, prometheus_metrics=True))]
    tag = f"{IMAGE_REPOSITORY}:no-vendor-{os.getpid()}"
    try:
        with pytest.raises(DockerError) as failure:
            build_image(fetched.project, tag, build_args={"GOLANG_IMAGE": golang_image}, network="none")
    finally:
        remove_images(tag)
    # The line the build printed (BuildKit prefixes it with step and time), not the echoed command.
    assert re.search(r"^#\d+ [\d.]+ error: vendor/ is missing: run 'go mod vendor'", str(failure.value), re.MULTILINE)


# --- Backstage's validators -------------------------------------------------------------------------


def test_template_passes_backstage_validators(backstage: Backstage) -> None:
    """template.yaml is a Template that the catalog's policies and the scaffolder's validator accept."""
    assert backstage.run(validate_job(TEMPLATE_YAML, GITHUB_TEMPLATE_URL)) == ["template:default/go-scratch-service"]


# Unusual answers the hook accepts; the catalog must accept what they generate.
ODD_ANSWERS = [pytest.param(case.answers, id=case.id) for case in cases(CATALOG)]


@pytest.mark.parametrize("answers", ODD_ANSWERS)
def test_catalog_info_of_odd_answers_passes_backstage_validators(
    backstage: Backstage, bake: Bake, answers: dict[str, Any]
) -> None:
    """Whatever accepted answers fill it with, catalog-info.yaml stays a Component the catalog accepts."""
    project = bake(**answers)
    component, *_ = yaml.safe_load_all((project / "catalog-info.yaml").read_text(encoding="utf-8"))
    slug = component["metadata"]["name"]
    assert backstage.run(validate_job(project / "catalog-info.yaml")) == catalog_entities(slug, answers)


def test_openapi_catalog_info_registers_the_api_the_component_provides(backstage: Backstage, bake: Bake) -> None:
    """With the OpenAPI option, catalog-info.yaml holds the Component and the API it provides; both are accepted.

    The API's definition is the spec the project holds: once the catalog's PlaceholderProcessor has read it
    from the repository, beside catalog-info.yaml, the stored definition is its text. The API shares the
    Component's lifecycle and owner.
    """
    project = bake(api="openapi")
    component, api = yaml.safe_load_all((project / "catalog-info.yaml").read_text(encoding="utf-8"))
    checked, processed = backstage.run_all(
        [validate_job(project / "catalog-info.yaml"), entities_job(project / "catalog-info.yaml")]
    )
    assert checked == catalog_entities(SLUG, {"api": "openapi"})
    assert component["spec"]["providesApis"] == [api["metadata"]["name"]]
    assert api["spec"]["type"] == "openapi"
    for field in ("lifecycle", "owner"):
        assert api["spec"][field] == component["spec"][field], field
    assert api["spec"]["definition"] == {"$text": "./api/openapi.yaml"}
    stored_component, stored_api = processed["entities"]
    assert stored_api["spec"]["definition"] == (project / "api" / "openapi.yaml").read_text(encoding="utf-8")
    assert stored_component["spec"] == component["spec"]
    # Read from the same repository and branch (GitHub's URL resolution makes it a /tree/ URL); the
    # catalog refreshes the API when that file changes.
    (spec_url,) = processed["readUrls"]
    repository = GITHUB_CATALOG_INFO_URL.removesuffix("/blob/main/catalog-info.yaml")
    assert re.fullmatch(rf"{re.escape(repository)}/(blob|tree)/main/api/openapi\.yaml", spec_url), spec_url
    assert {"type": "refresh", "key": f"url:{spec_url}"} in processed["emitted"]


SOURCE_TEMPLATE, TEMPLATE_VERSION = "backstage.io/source-template", "backstage.io/template-version"


def test_catalog_info_names_the_template_and_release_the_catalog_keeps(backstage: Backstage, bake: Bake) -> None:
    """The Component names its Template by the reference Backstage gives template.yaml, and the release it was made at.

    Both survive the catalog's processing: the annotation and spec.scaffoldedFrom (which the community
    scaffolder-relation-processor turns into a scaffoldedFrom relation) hold template.yaml's own entity reference.
    """
    project = bake()
    (template_ref,), processed = backstage.run_all(
        [validate_job(TEMPLATE_YAML, GITHUB_TEMPLATE_URL), entities_job(project / "catalog-info.yaml")]
    )
    (component,) = processed["entities"]
    assert component["metadata"]["annotations"][SOURCE_TEMPLATE] == template_ref
    assert component["spec"]["scaffoldedFrom"] == template_ref
    assert component["metadata"]["annotations"][TEMPLATE_VERSION] == COOKIECUTTER_JSON["version"]


def annotation(key: str, value: Any) -> Any:
    """A change that sets one annotation (its key holds dots, so no dotted path)."""

    def change(entity: dict[str, Any]) -> None:
        entity["metadata"]["annotations"][key] = value

    return change


def without(path: str) -> Any:
    """A change that deletes the field at the dotted path."""

    def change(entity: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            entity = entity[key]
        del entity[last]

    return change


def setting(path: str, value: Any) -> Any:
    """A change that sets the field at the dotted path."""

    def change(entity: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            entity = entity[key]
        entity[last] = value

    return change


# Broken copies of the two entities, and a word of what Backstage says about each.
BROKEN: dict[str, tuple[str, Any, str]] = {
    "component-without-owner": ("catalog-info", without("spec.owner"), "required property 'owner'"),
    "component-bad-name": ("catalog-info", setting("metadata.name", "-billing-"), '"metadata.name" is not valid'),
    "component-unknown-root-field": ("catalog-info", setting("owner", "team-platform"), "additional properties"),
    "component-release-not-text": ("catalog-info", annotation(TEMPLATE_VERSION, 1.1), "version must be string"),
    "template-without-steps": ("template", without("spec.steps"), "required property 'steps'"),
    "template-bad-name": ("template", setting("metadata.name", "go scratch service"), '"metadata.name" is not valid'),
    "template-type-not-text": ("template", setting("spec.type", 42), "/spec/type must be string"),
    "api-without-definition": ("api", without("spec.definition"), "required property 'definition'"),
    "api-definition-missing": ("api", setting("spec.definition", {"$text": "./api/missing.yaml"}), "could not read"),
}


@pytest.mark.parametrize(("entity", "change", "says"), BROKEN.values(), ids=BROKEN.keys())
def test_backstage_validators_refuse_a_broken_copy(
    backstage: Backstage, bake: Bake, tmp_path: Path, entity: str, change: Any, says: str
) -> None:
    """The validators are not blind: a copy with a missing or malformed field is refused, naming it."""
    source = TEMPLATE_YAML if entity == "template" else bake(api="openapi") / "catalog-info.yaml"
    documents = list(yaml.safe_load_all(source.read_text(encoding="utf-8")))
    document = documents[-1] if entity == "api" else documents[0]
    change(document)
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with pytest.raises(BackstageRefused) as refused:
        backstage.run(validate_job(broken))
    assert says in refused.value.message
