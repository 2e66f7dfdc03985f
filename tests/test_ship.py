"""Shipping, proven with the real tools: the generated Makefile's publish, sbom, sign, verify and vuln.

A distribution registry (Debian's docker-registry) and a BuildKit daemon (buildkitd, built from
the Go module proxy) run on this machine for the module; `make publish` drives them through the
real `docker buildx` (v0.38.2, built from the module proxy into a docker CLI plugin of a
DOCKER_CONFIG the tests own), whose `remote` driver reaches that buildkitd. The golang builder
image is the local stand-in, pushed to that registry and named through the GOLANG_IMAGE build
argument. `make vuln` reads the real Go vulnerability database (golang.org/x/vulndb, pinned,
indexed by its own cmd/indexdb). Time and size of the publish are written to
build/ship-measurements.json: reported, never asserted.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import elf
from harness.answers import COOKIECUTTER_JSON, SLUG
from harness.docker import (
    HARDENED,
    buildx_config,
    buildx_plugin,
    docker,
    remove_container,
    remove_images,
    run_container,
)
from harness.loopback import answers, free_port, request
from harness.project import COMBINATIONS, GO_VERSION, TEMPLATE_DIR, Bake, answers_id, bake_with
from harness.registry import BuildKit, Registry, running_buildkitd, running_registry
from harness.tools import Make, make, require_tool, run
from harness.vulndb import osv_report, vulndb
from harness.waiting import wait_for

pytestmark = [pytest.mark.xdist_group("ship")]
# Tests that push to the test registry or run images carry the docker and slow markers.

REPOSITORY = "ship/default"  # the published project's repository in the test registry
VERSION = "1.0.0"
PLATFORMS = {"linux/amd64", "linux/arm64"}
ATTESTATION = "attestation-manifest"  # vnd.docker.reference.type of BuildKit's attestation manifests
MEASUREMENTS = TEMPLATE_DIR / "build" / "ship-measurements.json"


def make_ok(project: Path, *args: str, env: Mapping[str, str] | None = None) -> Make:
    """Run make and fail the test with its output unless it succeeds."""
    result = make(project, *args, env=env)
    if result.returncode != 0:
        pytest.fail(f"`make {' '.join(args)}` exited {result.returncode}:\n{result.output}")
    return result


# --- The registry, BuildKit and the builder image ------------------------------------------


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A distribution registry on a free loopback port, for this module."""
    require_tool("docker-registry")
    with running_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="module")
def buildkit(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuildKit]:
    """A buildkitd of its own (root, runc), trusting the plain-HTTP test registry."""
    require_tool("runc")
    directory = tmp_path_factory.mktemp("buildkit")
    with running_buildkitd(directory, require_tool("buildkitd"), require_tool("buildctl"), registry) as running:
        yield running


@pytest.fixture(scope="module")
def builder_image(golang_image: str, registry: Registry) -> Iterator[str]:
    """The local golang stand-in, pushed to the test registry; return its name there."""
    pushed = f"{registry.host}/ship/golang:{GO_VERSION}-alpine"
    docker("tag", golang_image, pushed)
    try:
        docker("push", pushed, timeout=900)
        yield pushed
    finally:
        remove_images(pushed)


BUILDX_BUILDER = "ship"  # the name of the remote-driver builder in the tests' DOCKER_CONFIG


@pytest.fixture(scope="module")
def buildx_env(buildkit: BuildKit, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A docker CLI config of its own whose buildx plugin's current builder is the test buildkitd (remote driver)."""
    config = buildx_config(tmp_path_factory.mktemp("docker-config"), buildx_plugin())
    env = {**os.environ, "DOCKER_CONFIG": str(config)}
    create = [require_tool("docker"), "buildx", "create", "--use", "--name", BUILDX_BUILDER, "--driver", "remote"]
    subprocess.run([*create, buildkit.address], env=env, check=True, capture_output=True, timeout=120)
    return {"DOCKER_CONFIG": str(config)}


def publish_args(image: str, version: str, builder_image: str) -> list[str]:
    """The make arguments of a publish here: the stand-in builder image, no SBOM scanner image."""
    return [
        "publish",
        f"IMAGE={image}",
        f"VERSION={version}",
        f"BUILD_ARGS=GOLANG_IMAGE={builder_image}",
        "SBOM_ATTESTATION=false",
    ]


@dataclass(frozen=True)
class Published:
    """The default project, published to the test registry."""

    project: Path
    image: str  # registry/repository, without tag
    digest: str  # of the image index
    index: dict[str, Any]
    seconds: float


@pytest.fixture(scope="module")
def published(cookies_session: Any, registry: Registry, buildx_env: dict[str, str], builder_image: str) -> Published:
    """`make publish` of the default project through docker buildx: an amd64 + arm64 index in the test registry."""
    project = bake_with(cookies_session, {})
    image = f"{registry.host}/{REPOSITORY}"
    result = make_ok(project, *publish_args(image, VERSION, builder_image), env=buildx_env)
    digest = (project / "dist" / "digest").read_text(encoding="utf-8").strip()
    index = registry.manifest(REPOSITORY, VERSION)
    record_publish(registry, index.content, result.seconds)
    return Published(project, image, digest, index.content, result.seconds)


def platform_manifests(index: dict[str, Any]) -> dict[str, str]:
    """Map os/architecture to manifest digest, leaving out attestation manifests."""
    return {
        f"{entry['platform']['os']}/{entry['platform']['architecture']}": entry["digest"]
        for entry in index["manifests"]
        if entry.get("annotations", {}).get("vnd.docker.reference.type") != ATTESTATION
    }


def record_publish(registry: Registry, index: dict[str, Any], seconds: float) -> None:
    """Write the publish time and the index's size (its manifests and unique blobs) for the report."""
    sizes: dict[str, int] = {}
    for entry in index["manifests"]:
        manifest = registry.manifest(REPOSITORY, entry["digest"])
        sizes[entry["digest"]] = manifest.size
        for blob in [manifest.content["config"], *manifest.content["layers"]]:
            sizes[blob["digest"]] = int(blob["size"])
    per_platform = {
        platform: sum(int(layer["size"]) for layer in registry.manifest(REPOSITORY, digest).content["layers"])
        for platform, digest in platform_manifests(index).items()
    }
    MEASUREMENTS.parent.mkdir(parents=True, exist_ok=True)
    MEASUREMENTS.write_text(
        json.dumps(
            {"publish_seconds": round(seconds, 1), "index_bytes": sum(sizes.values()), "layer_bytes": per_platform},
            indent=2,
        ),
        encoding="utf-8",
    )


# --- make publish ---------------------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.slow
def test_publish_pushes_one_index_of_both_platforms(published: Published, registry: Registry) -> None:
    """The tag names an image index listing linux/amd64 and linux/arm64, and publish reports its digest."""
    assert set(platform_manifests(published.index)) == PLATFORMS
    assert registry.manifest(REPOSITORY, VERSION).digest == published.digest
    assert registry.tags(REPOSITORY) == [VERSION]


@pytest.mark.docker
@pytest.mark.slow
def test_publish_attaches_provenance_to_each_platform(published: Published, registry: Registry) -> None:
    """Each platform image has a BuildKit attestation manifest holding a SLSA provenance statement."""
    attested = {
        entry["annotations"]["vnd.docker.reference.digest"]
        for entry in published.index["manifests"]
        if entry.get("annotations", {}).get("vnd.docker.reference.type") == ATTESTATION
        and any(
            layer.get("annotations", {}).get("in-toto.io/predicate-type", "").startswith("https://slsa.dev/provenance/")
            for layer in registry.manifest(REPOSITORY, entry["digest"]).content["layers"]
        )
    }
    assert attested == set(platform_manifests(published.index).values())


@pytest.mark.docker
@pytest.mark.slow
def test_published_amd64_image_runs_and_answers(published: Published) -> None:
    """The amd64 image, pulled back into Docker by digest, runs hardened and answers GET / with its version."""
    reference = f"{published.image}@{platform_manifests(published.index)['linux/amd64']}"
    docker("pull", reference, timeout=300)
    port = free_port()
    container = run_container(reference, network="host", env={"PORT": str(port)}, options=HARDENED)
    try:
        assert wait_for(lambda: answers(port, "/readyz", 200), timeout=30, interval=0.2)
        reply = request(port, "/")
        assert reply.status == 200
        assert json.loads(reply.body) == {"name": SLUG, "version": VERSION}
    finally:
        remove_container(container)
        remove_images(reference)


def layer_file(registry: Registry, manifest_digest: str, path: str) -> bytes | None:
    """Return a file's content from an image's layers (the last layer holding it wins), or None."""
    found = None
    for layer in registry.manifest(REPOSITORY, manifest_digest).content["layers"]:
        data = registry.blob(REPOSITORY, layer["digest"])
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
            for member in tar:
                if member.name.lstrip("./") == path and member.isreg():
                    extracted = tar.extractfile(member)
                    found = extracted.read() if extracted else None
    return found


@pytest.mark.docker
@pytest.mark.slow
def test_published_arm64_image_holds_a_static_aarch64_binary(published: Published, registry: Registry) -> None:
    """The arm64 image's binary was cross-compiled: an aarch64 ELF that needs no loader."""
    binary = layer_file(registry, platform_manifests(published.index)["linux/arm64"], SLUG)
    assert binary is not None
    assert elf.machine(binary) == elf.MACHINES["arm64"]
    assert elf.is_static(binary)


# --- The Makefile: publish through buildx, values from outside as data ------------------------


def makefile_and_scripts(project: Path) -> dict[str, str]:
    """Return the text of the generated Makefile and of every script under build/, by relative path."""
    files = [project / "Makefile", *sorted((project / "build").iterdir())]
    return {str(path.relative_to(project)): path.read_text(encoding="utf-8") for path in files}


def test_publish_builds_with_docker_buildx_only(bake: Bake) -> None:
    """`make publish` runs `docker buildx build` and the generated project never mentions buildctl."""
    texts = makefile_and_scripts(bake())
    assert [name for name, text in texts.items() if "buildctl" in text.lower()] == []
    assert '"$DOCKER" buildx build --platform "$PLATFORMS"' in texts["build/publish.sh"]


def test_publish_without_buildx_says_so(bake: Bake, tmp_path: Path) -> None:
    """A docker client without the buildx plugin stops publish with one line, before anything is written."""
    project = bake()
    (tmp_path / "config.json").write_text("{}\n", encoding="utf-8")
    result = make(
        project, "publish", "IMAGE=127.0.0.1:1/ship/none", "VERSION=1.0.0", env={"DOCKER_CONFIG": str(tmp_path)}
    )
    assert result.returncode == 2, result.output
    assert 'error: DOCKER="docker" has no buildx: install Docker\'s buildx plugin' in result.output
    assert not (project / "dist").exists()


def test_makefile_runs_bash_strictly_with_tunables_first(bake: Bake) -> None:
    """The Makefile sets bash with errexit, pipefail and nounset, and every assignment above the line comes first."""
    makefile = (bake() / "Makefile").read_text(encoding="utf-8")
    assert "override SHELL := /usr/bin/env bash -o errexit -o pipefail -o nounset\n" in makefile
    tunables, _, rest = makefile.partition("# --- Nothing below needs tweaking.")
    assert "VERSION ?=" in tunables
    assert "?=" not in rest
    assert "INPUTS" not in makefile


def spies(directory: Path, log: Path, *names: str) -> dict[str, str]:
    """Put commands named names first on PATH, each appending its name to log; return that environment."""
    directory.mkdir()
    for name in names:
        spy = directory / name
        spy.write_text(f"#!/bin/sh\necho {name} >> '{log}'\n", encoding="utf-8")
        spy.chmod(0o755)
    return {"PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize("target", ["help", "clean"])
def test_reading_the_makefile_starts_no_program(bake: Bake, tmp_path: Path, target: str) -> None:
    """`make help` and `make clean` start neither docker nor git: nothing runs when the Makefile is read."""
    project = bake()
    log = tmp_path / "started"
    result = make(project, target, env=spies(tmp_path / "spies", log, "docker", "git", "go"))
    assert result.returncode == 0, result.output
    assert not log.exists(), log.read_text(encoding="utf-8")


# Values that would run code if make expanded them or a recipe pasted them into a shell line.
HOSTILE_ANYWHERE = {
    "docker-semicolon": ("DOCKER", "touch {marker};"),
    "golang-image-make-function": ("GOLANG_IMAGE", "$(shell touch {marker})"),
    "binary-make-function": ("BINARY", "$(shell touch {marker})"),
    "version-make-function": ("VERSION", "$(shell touch {marker})"),
    "vuln-db-make-function": ("VULN_DB", "${{shell touch {marker}}}"),
    "unknown-variable-make-function": ("NOT_A_TUNABLE", "$(shell touch {marker})"),
    "makefile-list-command": ("MAKEFILE_LIST", "x; touch {marker}"),
}


@pytest.mark.parametrize("through", ["command-line", "environment"])
@pytest.mark.parametrize("target", ["help", "clean", "build"])
@pytest.mark.parametrize(("name", "hostile"), HOSTILE_ANYWHERE.values(), ids=HOSTILE_ANYWHERE.keys())
def test_any_value_from_outside_is_data(
    bake: Bake, tmp_path: Path, name: str, hostile: str, target: str, through: str
) -> None:
    """A value that holds make or shell code, in any variable, runs nothing while make reads or runs a target."""
    project = bake()
    marker = tmp_path / "ran"
    value = hostile.format(marker=marker)
    if through == "command-line":
        result = make(project, target, f"{name}={value}")
    else:
        result = make(project, target, env={name: value})
    assert not marker.exists(), result.output


# Values that would run code if a recipe pasted them into a shell line or make expanded them.
HOSTILE_VALUES = {
    "version-command-substitution": {"VERSION": "1.0$(touch {marker})"},
    "version-semicolon": {"VERSION": "1.0;touch {marker}"},
    "version-backquotes": {"VERSION": "`touch {marker}`"},
    "version-make-function": {"VERSION": "$(shell touch {marker})"},
    "image-semicolon": {"IMAGE": "example.com/app;touch {marker}"},
    "build-args-command": {"BUILD_ARGS": "$(touch${{IFS}}{marker})"},
    "platforms-command": {"PLATFORMS": "linux/amd64;touch {marker}"},
}


@pytest.mark.parametrize("through", ["command-line", "environment"])
@pytest.mark.parametrize("hostile", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_publish_takes_values_as_data(bake: Bake, tmp_path: Path, hostile: dict[str, str], through: str) -> None:
    """A tag, image, platform or build argument that holds shell or make code is refused in one line: nothing runs."""
    project = bake()
    marker = tmp_path / "ran"
    values = {"IMAGE": "127.0.0.1:1/ship/hostile", "VERSION": "1.0.0"}
    values.update({key: value.format(marker=marker) for key, value in hostile.items()})
    assignments = [f"{key}={value}" for key, value in values.items()]
    if through == "command-line":
        result = make(project, "publish", *assignments)
    else:
        result = make(project, "publish", env=values)
    assert not marker.exists(), result.output
    assert result.returncode == 2, result.output
    (name,) = hostile
    if name == "BUILD_ARGS":
        assert f'error: BUILD_ARGS word "{values[name]}" is not allowed: KEY=VALUE' in result.output
    else:
        assert f'error: {name}="{values[name]}" is not allowed' in result.output
    assert not (project / "dist").exists()


@pytest.mark.parametrize(
    ("target", "name", "value"),
    [("build", "BINARY", "../escape"), ("build", "VERSION", "-1"), ("sign", "DIGEST", "sha256:abc")],
)
def test_bad_value_is_refused_in_one_line(bake: Bake, target: str, name: str, value: str) -> None:
    """A binary name, tag or digest that is not one is refused with a line naming it, before anything runs."""
    project = bake()
    result = make(project, target, f"{name}={value}")
    assert result.returncode == 2, result.output
    assert f'error: {name}="{value}" is not allowed' in result.output
    assert not (project / "bin").exists()


# --- The pinned Go tools ----------------------------------------------------------------------------

PINNED_TOOLS = {
    "govulncheck": "golang.org/x/vuln/cmd/govulncheck",
    "cyclonedx-gomod": "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod",
}


def test_tools_module_pins_every_tool_the_makefile_runs(bake: Bake) -> None:
    """tools/go.mod names govulncheck and cyclonedx-gomod in tool directives, tidy; make runs them only from there."""
    project = bake()
    go_mod = (project / "tools" / "go.mod").read_text(encoding="utf-8")
    assert set(PINNED_TOOLS.values()) <= {line.strip() for line in go_mod.splitlines()}
    assert "tool (" in go_mod
    run([require_tool("go"), "mod", "tidy", "-diff"], cwd=project / "tools")
    texts = makefile_and_scripts(project)
    assert [name for name, text in texts.items() if re.search(r"go (run|install) \S+@", text)] == []
    for name in PINNED_TOOLS:
        assert f"go tool -C tools {name} " in texts["Makefile"], name


# --- make sbom ------------------------------------------------------------------------------


def go_version_m(binary: Path) -> tuple[str, dict[str, str]]:
    """Read the Go version and the dependency modules (path -> version) embedded in a binary."""
    output = subprocess.run(["go", "version", "-m", str(binary)], capture_output=True, text=True, check=True).stdout
    lines = output.splitlines()
    go_version = lines[0].split(": ", 1)[1].strip()
    modules = {fields[1]: fields[2] for fields in (line.split() for line in lines[1:]) if fields[0] == "dep"}
    return go_version, modules


@pytest.mark.parametrize("metrics", [False, True], ids=["metrics:no", "metrics:yes"])
def test_sbom_lists_go_and_every_module_in_the_binary(bake: Bake, metrics: bool) -> None:
    """`make sbom` writes a CycloneDX JSON SBOM whose components are exactly `go version -m`'s modules and Go."""
    project = bake(prometheus_metrics=metrics)
    make_ok(project, "sbom", f"VERSION={VERSION}")
    sbom = json.loads((project / "dist" / "sbom.cdx.json").read_text(encoding="utf-8"))
    assert sbom["bomFormat"] == "CycloneDX"
    go_version, modules = go_version_m(project / "bin" / SLUG)
    components = {component["name"]: component["version"] for component in sbom["components"]}
    assert components == {**modules, "std": go_version}
    assert ("github.com/prometheus/client_golang" in components) is metrics


# --- make vuln ------------------------------------------------------------------------------

TEMPLATE_GO = COOKIECUTTER_JSON["go_version"]
X_NET = "golang.org/x/net"
X_NET_VULNERABLE = "v0.59.0"  # listed in the pinned database with fixes in v0.60.0, and reachable through otelhttp


def declared_toolchain(project: Path) -> str:
    """Return the Go the project declares, as GOTOOLCHAIN takes it: its toolchain line, else its go line."""
    lines = (project / "go.mod").read_text(encoding="utf-8").splitlines()
    declared = {fields[0]: fields[1] for fields in (line.split() for line in lines) if len(fields) == 2}
    return declared.get("toolchain") or f"go{declared['go']}"


@pytest.fixture(scope="module")
def vulndb_url() -> str:
    """The real Go vulnerability database at the pinned golang.org/x/vulndb, indexed once per machine."""
    return vulndb().as_uri()


def bake_declared(cookies: Any, monkeypatch: pytest.MonkeyPatch, answers: dict[str, bool]) -> tuple[Path, str]:
    """Bake with the template's own Go version (fetched if need be); return the project and its toolchain."""
    monkeypatch.setenv("GOTOOLCHAIN", "auto")
    project = bake_with(cookies, {**answers, "go_version": TEMPLATE_GO})
    return project, declared_toolchain(project)


@pytest.mark.slow
@pytest.mark.parametrize("answers", COMBINATIONS, ids=answers_id)
def test_vuln_passes_on_every_combination(
    cookies: Any, monkeypatch: pytest.MonkeyPatch, vulndb_url: str, answers: dict[str, bool]
) -> None:
    """`make vuln` with the Go the project declares finds nothing reachable in the real database: the pins are clean."""
    project, toolchain = bake_declared(cookies, monkeypatch, answers)
    result = make(project, "vuln", f"VULN_DB={vulndb_url}", env={"GOTOOLCHAIN": toolchain})
    assert result.returncode == 0, result.output
    assert "No vulnerabilities found." in result.output


@pytest.mark.slow
def test_vuln_flags_a_listed_reachable_module_version(
    cookies: Any, monkeypatch: pytest.MonkeyPatch, vulndb_url: str
) -> None:
    """Control: with golang.org/x/net moved back to a version the database lists, `make vuln` names it and fails."""
    project, toolchain = bake_declared(cookies, monkeypatch, {"opentelemetry": True})
    env = {"GOTOOLCHAIN": toolchain}
    go_get = [require_tool("go"), "get", f"{X_NET}@{X_NET_VULNERABLE}"]
    subprocess.run(go_get, cwd=project, env={**os.environ, **env}, check=True, capture_output=True, timeout=600)
    result = make(project, "vuln", f"VULN_DB={vulndb_url}", env=env)
    assert result.returncode != 0, result.output
    assert "vuln] Error 3" in result.output  # govulncheck's exit code for reachable findings
    assert f"Found in: {X_NET}@{X_NET_VULNERABLE}" in result.output
    found = {
        line.split(": ", 1)[1].strip() for line in result.output.splitlines() if line.startswith("Vulnerability #")
    }
    in_x_net = {osv_id for osv_id in found if X_NET in affected_modules(osv_id)}
    assert in_x_net, found


def affected_modules(osv_id: str) -> set[str]:
    """Return the modules that one report of the pinned database lists as affected."""
    return {entry["package"]["name"] for entry in osv_report(osv_id)["affected"]}


# --- make sign and make verify ----------------------------------------------------------------

COSIGN_OFFLINE = {
    "COSIGN_FLAGS": "--allow-http-registry --allow-insecure-registry",
    "SIGN_FLAGS": "--tlog-upload=false",
    "VERIFY_FLAGS": "--insecure-ignore-tlog",
}


@pytest.fixture(scope="module")
def cosign_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A cosign key pair made with `cosign generate-key-pair`, and the environment that unlocks it."""
    directory = tmp_path_factory.mktemp("cosign")
    env = {**os.environ, "COSIGN_PASSWORD": "test-password"}
    subprocess.run(
        [require_tool("cosign"), "generate-key-pair"], cwd=directory, env=env, check=True, capture_output=True
    )
    return {
        "COSIGN_KEY": str(directory / "cosign.key"),
        "COSIGN_PUB": str(directory / "cosign.pub"),
        "COSIGN_PASSWORD": "test-password",
        "COSIGN": require_tool("cosign"),
    }


@pytest.fixture(scope="module")
def signed(published: Published, cosign_keys: dict[str, str]) -> str:
    """Sign the published index by digest with `make sign`; return the digest."""
    make_ok(
        published.project,
        "sign",
        f"IMAGE={published.image}",
        f"DIGEST={published.digest}",
        env={**cosign_keys, **COSIGN_OFFLINE},
    )
    return published.digest


def verify(published: Published, cosign_keys: dict[str, str], *reference: str) -> Make:
    """Run `make verify` on the published image with the given IMAGE/VERSION/DIGEST arguments."""
    return make(published.project, "verify", *reference, env={**cosign_keys, **COSIGN_OFFLINE})


@pytest.mark.docker
@pytest.mark.slow
def test_verify_passes_for_the_signed_digest(published: Published, cosign_keys: dict[str, str], signed: str) -> None:
    """The signature verifies with the public key, by digest and through the tag that names it."""
    by_digest = verify(published, cosign_keys, f"IMAGE={published.image}", f"DIGEST={signed}")
    assert by_digest.returncode == 0, by_digest.output
    by_tag = verify(published, cosign_keys, f"IMAGE={published.image}", f"VERSION={VERSION}")
    assert by_tag.returncode == 0, by_tag.output
    assert f"verified {published.image}:{VERSION}" in by_tag.output


@pytest.mark.docker
@pytest.mark.slow
def test_verify_fails_for_an_unsigned_image(
    published: Published, cosign_keys: dict[str, str], signed: str, builder_image: str
) -> None:
    """An image nobody signed (the builder image in the same registry) does not verify."""
    name, _, tag = builder_image.rpartition(":")
    result = verify(published, cosign_keys, f"IMAGE={name}", f"VERSION={tag}")
    assert result.returncode != 0, result.output
    assert "no signatures found" in result.output.lower() or "no matching signatures" in result.output.lower()


@pytest.mark.docker
@pytest.mark.slow
def test_verify_fails_for_an_altered_image(
    published: Published, registry: Registry, cosign_keys: dict[str, str], signed: str
) -> None:
    """The signed index, altered by one annotation and pushed under a tag, no longer verifies."""
    altered = {**published.index, "annotations": {"org.opencontainers.image.description": "altered"}}
    media_type = published.index.get("mediaType", "application/vnd.oci.image.index.v1+json")
    digest = registry.put_manifest(REPOSITORY, f"{VERSION}-altered", altered, media_type)
    assert digest != signed
    result = verify(published, cosign_keys, f"IMAGE={published.image}", f"VERSION={VERSION}-altered")
    assert result.returncode != 0, result.output
