"""Shipping, proven with the real tools: the generated Makefile's publish, sbom, sign, verify and vuln.

A distribution registry (Debian's docker-registry) and a BuildKit daemon (buildkitd, built from
the Go module proxy) run on this machine for the module; the golang builder image is the local
stand-in, pushed to that registry and named through the GOLANG_IMAGE build argument. The Docker
engine here has no buildx, so `make publish` takes its buildctl path (BUILDER=buildctl); with
buildx installed the same target builds through `docker buildx`. Time and size of the publish are
written to build/ship-measurements.json: reported, never asserted.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import elf
from harness.answers import SLUG
from harness.docker import HARDENED, docker, remove_container, remove_images, run_container
from harness.loopback import answers, free_port, request
from harness.project import GO_VERSION, TEMPLATE_DIR, Bake, bake_with
from harness.registry import BuildKit, Registry, running_buildkitd, running_registry
from harness.tools import require_tool
from harness.waiting import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("ship")]

REPOSITORY = "ship/default"  # the published project's repository in the test registry
VERSION = "1.0.0"
PLATFORMS = {"linux/amd64", "linux/arm64"}
ATTESTATION = "attestation-manifest"  # vnd.docker.reference.type of BuildKit's attestation manifests
MEASUREMENTS = TEMPLATE_DIR / "build" / "ship-measurements.json"


@dataclass(frozen=True)
class Make:
    """One run of make in a generated project."""

    returncode: int
    output: str
    seconds: float


def make(project: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 1800) -> Make:
    """Run make with arguments in the project; return its exit code, output and duration."""
    start = time.monotonic()
    result = subprocess.run(
        [require_tool("make"), *args],
        cwd=project,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Make(result.returncode, result.stdout + result.stderr, time.monotonic() - start)


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


def publish_env(buildkit: BuildKit) -> dict[str, str]:
    """The environment of a publish through buildctl to the test buildkitd."""
    return {"BUILDKIT_HOST": buildkit.address}


def publish_args(image: str, version: str, builder_image: str) -> list[str]:
    """The make arguments of a publish here: buildctl, the stand-in builder image, no SBOM scanner image."""
    return [
        "publish",
        f"IMAGE={image}",
        f"VERSION={version}",
        "BUILDER=buildctl",
        f"BUILDCTL={require_tool('buildctl')}",
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
def published(cookies_session: Any, registry: Registry, buildkit: BuildKit, builder_image: str) -> Published:
    """`make publish` of the default project: an amd64 + arm64 index in the test registry."""
    project = bake_with(cookies_session, {})
    image = f"{registry.host}/{REPOSITORY}"
    result = make_ok(project, *publish_args(image, VERSION, builder_image), env=publish_env(buildkit))
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


def test_publish_pushes_one_index_of_both_platforms(published: Published, registry: Registry) -> None:
    """The tag names an image index listing linux/amd64 and linux/arm64, and publish reports its digest."""
    assert set(platform_manifests(published.index)) == PLATFORMS
    assert registry.manifest(REPOSITORY, VERSION).digest == published.digest
    assert registry.tags(REPOSITORY) == [VERSION]


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


def test_published_arm64_image_holds_a_static_aarch64_binary(published: Published, registry: Registry) -> None:
    """The arm64 image's binary was cross-compiled: an aarch64 ELF that needs no loader."""
    binary = layer_file(registry, platform_manifests(published.index)["linux/arm64"], SLUG)
    assert binary is not None
    assert elf.machine(binary) == elf.MACHINES["arm64"]
    assert elf.is_static(binary)


# Values that would run code if a recipe pasted them into a shell line or make expanded them.
HOSTILE_VALUES = {
    "version-command-substitution": {"VERSION": "1.0$(touch {marker})"},
    "version-semicolon": {"VERSION": "1.0;touch {marker}"},
    "version-backquotes": {"VERSION": "`touch {marker}`"},
    "version-make-function": {"VERSION": "$(shell touch {marker})"},
    "image-semicolon": {"IMAGE": "example.com/app;touch {marker}"},
    "build-args-command": {"BUILD_ARGS": "$(touch${{IFS}}{marker})"},
}


@pytest.mark.parametrize("through", ["command-line", "environment"])
@pytest.mark.parametrize("hostile", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_publish_takes_values_as_data(bake: Bake, tmp_path: Path, hostile: dict[str, str], through: str) -> None:
    """A tag, image or build argument that holds shell or make code is refused or passed literally: nothing runs."""
    project = bake()
    marker = tmp_path / "ran"
    values = {"IMAGE": "127.0.0.1:1/ship/hostile", "VERSION": "1.0.0", "BUILDER": "buildctl"}
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

CLIENT_GOLANG = "github.com/prometheus/client_golang"


def write_vulndb(directory: Path, module: str, fixed: str) -> str:
    """Write a one-entry Go vulnerability database (OSV, govulncheck's file layout); return its file:// URL.

    The entry says every version of the module before `fixed` is vulnerable in promhttp.HandlerFor.
    """
    modified = "2026-01-01T00:00:00Z"
    entry_id = "GO-2999-0001"
    entry = {
        "schema_version": "1.3.1",
        "id": entry_id,
        "modified": modified,
        "published": modified,
        "summary": "Test entry: promhttp handler",
        "details": "Written by the template's tests.",
        "affected": [
            {
                "package": {"name": module, "ecosystem": "Go"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                "ecosystem_specific": {
                    "imports": [{"path": f"{module}/prometheus/promhttp", "symbols": ["HandlerFor"]}]
                },
            }
        ],
        "database_specific": {"url": f"https://pkg.go.dev/vuln/{entry_id}"},
    }
    (directory / "index").mkdir(parents=True)
    (directory / "ID").mkdir()
    (directory / "index" / "db.json").write_text(json.dumps({"modified": modified}), encoding="utf-8")
    modules = [{"path": module, "vulns": [{"id": entry_id, "modified": modified, "fixed": fixed}]}]
    (directory / "index" / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (directory / "ID" / f"{entry_id}.json").write_text(json.dumps(entry), encoding="utf-8")
    return directory.as_uri()


def pinned_client_golang() -> str:
    """The client_golang version that the template's go.mod pins."""
    go_mod = (TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "go.mod").read_text(encoding="utf-8")
    (line,) = [line for line in go_mod.splitlines() if line.startswith(f"require {CLIENT_GOLANG} ")]
    return line.split()[-1]


def next_major(version: str) -> str:
    """Return a version above every release of the same major: v1.25.0 -> v1.999.0."""
    major = version.split(".")[0]
    return f"{major}.999.0"


VULN_CASES = {
    "metrics:yes-listed": (True, "listed", 3),
    "metrics:yes-fixed": (True, "fixed", 0),
    "metrics:no-listed": (False, "listed", 0),
}


@pytest.mark.parametrize(("metrics", "database", "exit_code"), VULN_CASES.values(), ids=VULN_CASES.keys())
def test_vuln_fails_only_on_a_listed_module_version(
    bake: Bake, tmp_path: Path, metrics: bool, database: str, exit_code: int
) -> None:
    """`make vuln` (govulncheck, offline database) fails when the pinned client is listed vulnerable, else passes."""
    pinned = pinned_client_golang()
    fixed = next_major(pinned) if database == "listed" else pinned
    url = write_vulndb(tmp_path / "vulndb", CLIENT_GOLANG, fixed.removeprefix("v"))
    project = bake(prometheus_metrics=metrics)
    result = make(project, "vuln", f"VULN_DB={url}")
    assert (result.returncode == 0) is (exit_code == 0), result.output
    if exit_code:
        assert "GO-2999-0001" in result.output
        assert f"{CLIENT_GOLANG}@{pinned}" in result.output
    else:
        assert "No vulnerabilities found." in result.output


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


def test_verify_passes_for_the_signed_digest(published: Published, cosign_keys: dict[str, str], signed: str) -> None:
    """The signature verifies with the public key, by digest and through the tag that names it."""
    by_digest = verify(published, cosign_keys, f"IMAGE={published.image}", f"DIGEST={signed}")
    assert by_digest.returncode == 0, by_digest.output
    by_tag = verify(published, cosign_keys, f"IMAGE={published.image}", f"VERSION={VERSION}")
    assert by_tag.returncode == 0, by_tag.output
    assert f"verified {published.image}:{VERSION}" in by_tag.output


def test_verify_fails_for_an_unsigned_image(
    published: Published, cosign_keys: dict[str, str], signed: str, builder_image: str
) -> None:
    """An image nobody signed (the builder image in the same registry) does not verify."""
    name, _, tag = builder_image.rpartition(":")
    result = verify(published, cosign_keys, f"IMAGE={name}", f"VERSION={tag}")
    assert result.returncode != 0, result.output
    assert "no signatures found" in result.output.lower() or "no matching signatures" in result.output.lower()


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
