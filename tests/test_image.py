"""The image, proven on a real Docker engine: built, listed, inspected, run and probed.

Each variant is baked and built once per session (per xdist worker; run with
``--dist loadgroup`` so that one worker owns each variant) and shared by the
tests below, grouped by what they prove: what the image holds, how it is
configured, how small it is, how it runs, whether it can make HTTPS calls, how
it builds, and that the generated ``make image-test`` checks it the same way.

Containers use only ``--network host`` (the service on a free port, called on
127.0.0.1) or ``--network none``. Sizes and build times are written to
``build/image-measurements/<variant>.json``; they are reported, never asserted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness import elf
from harness.answers import COOKIECUTTER_JSON, NOBODY, SLUG
from harness.docker import (
    HARDENED,
    Build,
    BuildStep,
    DockerError,
    ImageFile,
    build_image,
    build_steps,
    container_inspect,
    container_logs,
    docker,
    exported_files,
    find_step,
    host_pid,
    image_inspect,
    image_size,
    process_status,
    remove_container,
    remove_images,
    run_container,
    stop_container,
    wait_for_health,
    wait_for_log,
)
from harness.loopback import free_port, listening, request
from harness.project import TEMPLATE_DIR, Bake, bake_with
from harness.template import CA_BUNDLE as TEMPLATE_CA_BUNDLE
from harness.tools import file_lock, require_tool, run

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# A module path of this process's own: it is in go.mod, so no other build on the engine shares the
# steps from `COPY go.mod` on. BuildKit leaves the progress of a step that it shares with a concurrent
# identical build out of the second build's log, and the build tests read that log.
MODULE_PATH = f"github.com/example/{SLUG}-{os.getpid()}"
IMAGE_REPOSITORY = "go-scratch-service-test"
# The FROM line of the Dockerfile that pins the official builder image.
PINNED_BUILDER = re.compile(r"^FROM --platform=\$BUILDPLATFORM (\S+) AS golang-builder$", re.MULTILINE)
MEASUREMENTS_DIR = TEMPLATE_DIR / "build" / "image-measurements"
PROBE_SOURCE = TEMPLATE_DIR / "harness" / "https_probe"
BUSYBOX = Path("/bin/busybox")

PASSWD = b"nobody:x:65534:65534:nobody:/:/sbin/nologin\n"
GROUP = b"nobody:x:65534:\n"
CA_BUNDLE = TEMPLATE_CA_BUNDLE.removeprefix("/")  # as a path in the image's layers
SIZE_ALLOWANCE = 300_000  # bytes the image may hold beyond the binary (300 kB): accounts and the CA bundle
STOP_TIMEOUT = 20  # seconds docker stop waits before SIGKILL
LISTENING = '"msg":"listening"'
# Appended to main.go to measure a rebuild after a small code change.
ONE_LINE_CHANGE = f'const rebuildMarker = "a one-line change in process {os.getpid()}"\n'
# Directories and programs of an operating system, none of which the image may hold.
OS_PATHS = ("bin", "sbin", "usr", "lib", "lib64", "var", "root", "home", "tmp")
OS_PROGRAMS = frozenset({"sh", "ash", "bash", "dash", "busybox", "apk", "apt", "apt-get", "dpkg", "yum", "dnf"})


# --- Variants -------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """A set of answers whose image the tests build, and what that image must then be."""

    name: str
    answers: dict[str, Any] = field(hash=False)
    https: bool
    vendored: bool
    metrics: bool
    port: int
    build_network: str  # "none" unless the build downloads modules through the proxy

    @property
    def bake_answers(self) -> dict[str, Any]:
        """The variant's answers, with the module path of this process."""
        return {"module_path": MODULE_PATH, **self.answers}

    @property
    def downloads_modules(self) -> bool:
        """Whether the build downloads dependencies through the module proxy."""
        return self.metrics and not self.vendored


VARIANTS = (
    Variant("default", {}, https=True, vendored=False, metrics=False, port=8080, build_network="none"),
    Variant(
        "https-off",
        {"https_client": False, "port": "9090"},
        https=False,
        vendored=False,
        metrics=False,
        port=9090,
        build_network="none",
    ),
    Variant(
        "vendored-metrics",
        {"vendor_dependencies": True, "prometheus_metrics": True},
        https=True,
        vendored=True,
        metrics=True,
        port=8080,
        build_network="none",
    ),
    Variant(
        "modules-metrics",
        {"prometheus_metrics": True, "https_client": False, "port": "3000"},
        https=False,
        vendored=False,
        metrics=True,
        port=3000,
        build_network="host",
    ),
)


def variant_param(variant: Variant) -> Any:
    """One variant as a parameter, grouped so that `--dist loadgroup` builds it on one worker only."""
    return pytest.param(variant, id=variant.name, marks=pytest.mark.xdist_group(f"image-{variant.name}"))


# --- Small helpers --------------------------------------------------------------------


def record_measurement(variant: str, **values: float | int | bool | None) -> None:
    """Merge figures into build/image-measurements/<variant>.json (reported, never asserted)."""
    path = MEASUREMENTS_DIR / f"{variant}.json"
    with file_lock(MEASUREMENTS_DIR / ".lock"):
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"variant": variant}
        data.update(values)
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def image_tag(name: str) -> str:
    """Return a tag of our own for an image that this test process builds."""
    return f"{IMAGE_REPOSITORY}:{name}-{os.getpid()}"


def expected_kinds(variant: Variant) -> dict[str, str]:
    """Every path the image must hold, and nothing else, with its kind."""
    kinds = {"etc": "dir", "etc/passwd": "file", "etc/group": "file", SLUG: "file"}
    if variant.https:
        kinds |= {"etc/ssl": "dir", "etc/ssl/certs": "dir", CA_BUNDLE: "file"}
    return kinds


def log_records(logs: str) -> list[dict[str, Any]]:
    """Parse the service's JSON log lines, ignoring any other line."""
    records = []
    for line in logs.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def start_service(tag: str, *, network: str, env: dict[str, str] | None = None) -> str:
    """Start the image hardened, with quick health checks; wait until it listens; return the container."""
    container = run_container(tag, network=network, env=env, options=(*HARDENED, "--health-interval=1s"))
    if not wait_for_log(container, LISTENING, timeout=30):
        logs = container_logs(container)
        remove_container(container)
        pytest.fail(f"{tag} did not start listening within 30s:\n{logs}")
    return container


def build_derived(base: str, context: Path, tag: str, files: dict[str, Path], entrypoint: str | None = None) -> None:
    """Build FROM base + COPY of host files (name in image -> host path), with no network."""
    lines = [f"FROM {base}"]
    for index, (target, source) in enumerate(files.items()):
        name = f"file{index}"
        shutil.copy2(source, context / name)
        lines.append(f"COPY {name} {target}")
    if entrypoint:
        lines.append(f'ENTRYPOINT ["{entrypoint}"]')
    (context / "Dockerfile").write_text("\n".join(lines) + "\n", encoding="utf-8")
    build_image(context, tag, network="none")


# --- Fixtures -----------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltImage:
    """A variant's project, baked, and its image, built."""

    variant: Variant
    project: Path
    tag: str
    build: Build

    @property
    def steps(self) -> list[BuildStep]:
        """The Dockerfile steps of the build."""
        return build_steps(self.build.log)


@dataclass(frozen=True)
class Serving:
    """A hardened container of the image, serving on the host's loopback."""

    container: str
    port: int
    metrics_port: int  # the admin listener's, when the variant has metrics


@pytest.fixture(scope="session", params=[variant_param(v) for v in VARIANTS])
def image(request: pytest.FixtureRequest, golang_image: str, cookies_session: Any) -> Iterator[BuiltImage]:
    """Bake a variant and build its image, once per session."""
    variant: Variant = request.param
    project = bake_with(cookies_session, variant.bake_answers)
    tag = image_tag(variant.name)
    build = build_image(project, tag, build_args={"GOLANG_IMAGE": golang_image}, network=variant.build_network)
    go_build = find_step(build_steps(build.log), "go build")
    record_measurement(
        variant.name,
        first_build_seconds=round(build.seconds, 1),
        first_build_go_build_cached=go_build.cached if go_build else None,
        first_build_go_build_step_seconds=go_build.seconds if go_build else None,
    )
    yield BuiltImage(variant, project, tag, build)
    remove_images(tag)


@pytest.fixture(scope="session")
def filesystem(image: BuiltImage) -> dict[str, ImageFile]:
    """List the image's files, from `docker export` of a created container."""
    return exported_files(image.tag)


@pytest.fixture(scope="session")
def config(image: BuiltImage) -> dict[str, Any]:
    """Read the image's configuration with `docker image inspect`."""
    return image_inspect(image.tag)["Config"]


@pytest.fixture(scope="session")
def serving(image: BuiltImage) -> Iterator[Serving]:
    """Run the image hardened on the host network, on free ports given through PORT and METRICS_PORT."""
    port, metrics_port = free_port(), free_port()
    container = start_service(image.tag, network="host", env={"PORT": str(port), "METRICS_PORT": str(metrics_port)})
    yield Serving(container, port, metrics_port)
    remove_container(container)


@pytest.fixture(scope="session")
def isolated(image: BuiltImage) -> Iterator[str]:
    """Run the image hardened with no network at all, on its own default port."""
    container = start_service(image.tag, network="none")
    yield container
    remove_container(container)


@pytest.fixture(scope="session")
def rebuild(image: BuiltImage, golang_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    """Rebuild the variant after a one-line change to main.go, in a copy of its project."""
    project = tmp_path_factory.mktemp(f"rebuild-{image.variant.name}") / SLUG
    shutil.copytree(image.project, project)
    with (project / "main.go").open("a", encoding="utf-8") as main_go:
        main_go.write(ONE_LINE_CHANGE)
    tag = f"{image.tag}-rebuild"
    build = build_image(project, tag, build_args={"GOLANG_IMAGE": golang_image}, network=image.variant.build_network)
    go_build = find_step(build_steps(build.log), "go build")
    record_measurement(
        image.variant.name,
        rebuild_seconds=round(build.seconds, 1),
        rebuild_go_build_step_seconds=go_build.seconds if go_build else None,
    )
    yield build
    remove_images(tag)


@pytest.fixture(scope="session")
def probe(golang_image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the HTTPS trust probe on the host: a static linux/amd64 binary."""
    output = tmp_path_factory.mktemp("https-probe") / "probe"
    run(
        ["go", "build", "-trimpath", "-buildvcs=false", "-o", str(output), "."],
        cwd=PROBE_SOURCE,
        env={"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64"},
    )
    return output


# --- What the image holds ---------------------------------------------------------------


class TestFilesystem:
    """The exported filesystem holds the binary, the accounts and, when chosen, the CA bundle: nothing else."""

    def test_image_holds_only_binary_accounts_and_ca_bundle(
        self, image: BuiltImage, filesystem: dict[str, ImageFile]
    ) -> None:
        """Every path of the image is one it needs."""
        assert {path: file.kind for path, file in filesystem.items()} == expected_kinds(image.variant)

    def test_image_has_no_shell_busybox_or_package_manager(self, filesystem: dict[str, ImageFile]) -> None:
        """No operating system directory and no shell, busybox or package manager anywhere."""
        assert [path for path in filesystem if path.split("/")[0] in OS_PATHS] == []
        assert [path for path in filesystem if Path(path).name in OS_PROGRAMS] == []

    def test_accounts_define_only_the_unprivileged_user(self, filesystem: dict[str, ImageFile]) -> None:
        """The passwd and group files know nobody (65534) alone, with no shell and no home."""
        assert filesystem["etc/passwd"].content == PASSWD
        assert filesystem["etc/group"].content == GROUP

    def test_ca_bundle_is_present_exactly_when_https_client_is_on(
        self, image: BuiltImage, filesystem: dict[str, ImageFile]
    ) -> None:
        """The CA bundle is there, with certificates in it, if and only if the service makes HTTPS calls."""
        bundle = filesystem.get(CA_BUNDLE)
        assert (bundle is not None) == image.variant.https
        if bundle is not None:
            assert (bundle.content or b"").count(b"-----BEGIN CERTIFICATE-----") > 100

    def test_binary_was_built_with_trimpath_and_without_cgo(
        self, filesystem: dict[str, ImageFile], tmp_path: Path
    ) -> None:
        """`go version -m` on the binary copied out of the image shows -trimpath=true and CGO_ENABLED=0."""
        binary = tmp_path / SLUG
        binary.write_bytes(filesystem[SLUG].content or b"")
        build_info = run(["go", "version", "-m", str(binary)], cwd=tmp_path)
        assert "\tbuild\t-trimpath=true\n" in build_info, build_info
        assert "\tbuild\tCGO_ENABLED=0\n" in build_info, build_info

    def test_binary_is_static_amd64_and_read_only_for_the_service(self, filesystem: dict[str, ImageFile]) -> None:
        """The binary is a static amd64 ELF, owned by root, so the service cannot rewrite it."""
        binary = filesystem[SLUG]
        assert binary.content is not None
        assert elf.machine(binary.content) == elf.MACHINES["amd64"]
        assert elf.is_static(binary.content), "dynamically linked: it needs a loader"
        assert (binary.uid, binary.gid, binary.mode) == (0, 0, 0o755)


# --- How it is configured ------------------------------------------------------------------


class TestConfig:
    """The image configuration: numeric non-root user, exec forms, the chosen port, OCI labels."""

    def test_user_is_numeric_and_not_root(self, config: dict[str, Any]) -> None:
        """USER is uid:gid in numbers (Kubernetes runAsNonRoot can check it) and not 0."""
        assert re.fullmatch(r"[0-9]+:[0-9]+", config["User"])
        assert config["User"] == f"{NOBODY}:{NOBODY}"

    def test_entrypoint_and_healthcheck_are_exec_form(self, config: dict[str, Any]) -> None:
        """ENTRYPOINT and HEALTHCHECK run the binary directly (no shell), with no CMD."""
        assert config["Entrypoint"] == [f"/{SLUG}"]
        assert config["Cmd"] is None
        assert config["Healthcheck"]["Test"] == ["CMD", f"/{SLUG}", "-healthcheck"]

    def test_exposed_ports_are_the_chosen_port(self, image: BuiltImage, config: dict[str, Any]) -> None:
        """The image exposes the port answered at generation, and only it."""
        assert config["ExposedPorts"] == {f"{image.variant.port}/tcp": {}}

    def test_oci_labels_describe_the_project(self, config: dict[str, Any]) -> None:
        """The OCI labels name the project, its description, source and version."""
        assert config["Labels"] == {
            "org.opencontainers.image.title": SLUG,
            "org.opencontainers.image.description": COOKIECUTTER_JSON["description"],
            "org.opencontainers.image.source": f"https://{MODULE_PATH}",
            "org.opencontainers.image.version": "dev",
        }


# --- How small it is --------------------------------------------------------------------------


class TestSize:
    """The image is the binary and little else."""

    def test_image_is_binary_plus_at_most_300_kb(
        self,
        image: BuiltImage,
        filesystem: dict[str, ImageFile],
        record_property: Any,
    ) -> None:
        """The image content exceeds the binary by no more than 300 kB."""
        binary = filesystem[SLUG].size
        size = image_size(image.tag)
        record_property("image_size", size)
        record_property("binary_size", binary)
        record_measurement(image.variant.name, image_size=size, binary_size=binary)
        assert size - binary <= SIZE_ALLOWANCE, f"image {size} B, binary {binary} B: {size - binary} B beyond it"


# --- How it runs ---------------------------------------------------------------------------------


class TestHardenedRun:
    """Read-only, without capabilities or privilege gain, as nobody: it serves, reports healthy, stops cleanly."""

    def test_container_runs_read_only_without_capabilities(self, serving: Serving) -> None:
        """Docker applied --read-only, --cap-drop ALL and no-new-privileges."""
        host_config = container_inspect(serving.container)["HostConfig"]
        assert host_config["ReadonlyRootfs"] is True
        assert host_config["CapDrop"] == ["ALL"]
        assert host_config["SecurityOpt"] == ["no-new-privileges"]

    def test_process_runs_as_unprivileged_user(self, serving: Serving) -> None:
        """Seen from the host, every uid and gid of the service process is 65534, not 0."""
        status = process_status(host_pid(serving.container))
        assert status["Uid"].split() == [str(NOBODY)] * 4
        assert status["Gid"].split() == [str(NOBODY)] * 4

    def test_process_has_no_capabilities_and_cannot_gain_privileges(self, serving: Serving) -> None:
        """Seen from the host, the service process holds no capability and has no_new_privs set."""
        status = process_status(host_pid(serving.container))
        for capabilities in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(status[capabilities], 16) == 0, capabilities
        assert status["NoNewPrivs"] == "1"

    @pytest.mark.parametrize(("path", "expected"), [("/", 200), ("/livez", 200), ("/readyz", 200), ("/metrics", 404)])
    def test_endpoint_answers(self, serving: Serving, path: str, expected: int) -> None:
        """The service answers its endpoints with 200 on PORT, and never serves /metrics there."""
        reply = request(serving.port, path)
        assert reply.status == expected, reply.body
        if path == "/":
            assert json.loads(reply.body) == {"name": SLUG, "version": "dev"}

    def test_metrics_answer_on_the_admin_port_only_when_chosen(self, image: BuiltImage, serving: Serving) -> None:
        """With metrics, /metrics answers on METRICS_PORT; without them nothing listens there."""
        if image.variant.metrics:
            reply = request(serving.metrics_port, "/metrics")
            assert reply.status == 200, reply.body
            assert b"go_goroutines" in reply.body
        else:
            assert not listening(serving.metrics_port)

    def test_service_listens_on_exposed_port_by_default(self, image: BuiltImage, isolated: str) -> None:
        """Without PORT, the service listens on the port the image exposes."""
        records = log_records(container_logs(isolated))
        (listening,) = [r for r in records if r.get("msg") == "listening" and r.get("listener") == "http"]
        assert listening["addr"].rsplit(":", 1)[1] == str(image.variant.port)

    def test_docker_reports_healthy_through_image_healthcheck(self, config: dict[str, Any], isolated: str) -> None:
        """Docker runs the image's own exec-form HEALTHCHECK and calls the container healthy."""
        assert wait_for_health(isolated, timeout=60) == "healthy"
        inspected = container_inspect(isolated)
        assert inspected["Config"]["Healthcheck"]["Test"] == config["Healthcheck"]["Test"]
        assert inspected["State"]["Health"]["Log"][-1]["ExitCode"] == 0

    def test_sigterm_stops_service_with_exit_code_0(self, image: BuiltImage) -> None:
        """`docker stop` (SIGTERM) ends the service by itself, with exit code 0, long before SIGKILL."""
        container = start_service(image.tag, network="none")
        try:
            stop = stop_container(container, timeout=STOP_TIMEOUT)
            logs = container_logs(container)
        finally:
            remove_container(container)
        assert (stop.exit_code, stop.oom_killed) == (0, False), logs
        assert stop.seconds < STOP_TIMEOUT / 2, f"took {stop.seconds:.1f}s"
        assert [record.get("msg") for record in log_records(logs)][-1] == "stopped"


# --- Whether it can make HTTPS calls ------------------------------------------------------------------


class TestHttpsTrust:
    """A Go program in the image trusts public HTTPS roots exactly when https_client is on."""

    def test_system_pool_trusts_public_root_exactly_when_https_client_is_on(
        self, image: BuiltImage, probe: Path, tmp_path: Path
    ) -> None:
        """The probe chains Let's Encrypt R3 to ISRG Root X1 from the system pool, offline, iff https_client."""
        tag = f"{image.tag}-probe"
        try:
            build_derived(image.tag, tmp_path, tag, {"/probe": probe}, entrypoint="/probe")
            result = docker("run", "--rm", "--network", "none", *HARDENED, tag, check=False)
        finally:
            remove_images(tag)
        output = result.stdout + result.stderr
        if image.variant.https:
            assert result.returncode == 0, output
            assert "trusted: CN=ISRG Root X1" in result.stdout
        else:
            assert result.returncode == 1, output
            assert "certificate signed by unknown authority" in result.stderr


# --- How it builds ----------------------------------------------------------------------------------------


class TestBuild:
    """Dependencies come from vendor/ offline or from the module proxy; rebuilds reuse what did not change."""

    def test_build_gets_dependencies_from_vendor_or_module_proxy(self, image: BuiltImage) -> None:
        """A vendored build checks vendor/ and downloads nothing (it built with no network); others download."""
        steps = image.steps
        download = find_step(steps, "go mod download")
        if image.variant.vendored:
            assert image.variant.build_network == "none"
            assert download is None
            assert find_step(steps, "vendor/modules.txt") is not None
        else:
            assert download is not None
            assert (image.variant.build_network == "host") == image.variant.downloads_modules

    def test_rebuild_after_one_line_change_reuses_download_layer(self, image: BuiltImage, rebuild: Build) -> None:
        """After a one-line change to main.go, the module download layer is reused and Go rebuilds with its cache."""
        steps = build_steps(rebuild.log)
        go_build = find_step(steps, "go build")
        assert go_build is not None
        assert not go_build.cached, "the change to main.go was not seen"
        assert "--mount=type=cache,target=/root/.cache/go-build" in go_build.name
        if not image.variant.vendored:
            download = find_step(steps, "go mod download")
            assert download is not None
            assert download.cached, "the module download layer was rebuilt"

    def test_make_docker_build_without_golang_image_uses_the_pinned_image(
        self, golang_image: str, bake: Bake, docker_first_on_path: str
    ) -> None:
        """Without GOLANG_IMAGE, `make docker-build` builds from the pinned official image (pulled, or failing here)."""
        project = bake()
        (pinned,) = PINNED_BUILDER.findall((project / "Dockerfile").read_text(encoding="utf-8"))
        repository = f"{IMAGE_REPOSITORY}-pinned-{os.getpid()}"
        env = {key: value for key, value in os.environ.items() if key != "GOLANG_IMAGE"}
        try:
            result = subprocess.run(
                [require_tool("make"), "docker-build", f"IMAGE={repository}"],
                cwd=project,
                env={**env, "PATH": docker_first_on_path},
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
        finally:
            remove_images(f"{repository}:dev", f"{repository}:latest")
        output = result.stdout + result.stderr
        assert f"load metadata for docker.io/library/{pinned}" in output, output
        assert golang_image not in output

    def test_vendored_project_without_vendor_dir_fails_clearly(self, golang_image: str, bake: Bake) -> None:
        """Building a vendored project whose vendor/ is missing stops with the fix to apply."""
        project = bake(module_path=MODULE_PATH, vendor_dependencies=True, prometheus_metrics=True)
        shutil.rmtree(project / "vendor")
        tag = image_tag("no-vendor")
        try:
            with pytest.raises(DockerError, match=re.escape("run 'go mod vendor'")):
                build_image(project, tag, build_args={"GOLANG_IMAGE": golang_image}, network="none")
        finally:
            remove_images(tag)

    def test_cache_mounts_are_where_go_keeps_its_caches(self, golang_image: str, bake: Bake) -> None:
        """The build stage's GOCACHE and GOMODCACHE are the Dockerfile's cache mount targets."""
        project = bake()
        targets = set(re.findall(r"--mount=type=cache,target=(\S+)", (project / "Dockerfile").read_text()))
        tag = image_tag("build-stage")
        try:
            build_image(
                project, tag, build_args={"GOLANG_IMAGE": golang_image}, network="none", extra=["--target", "build"]
            )
            result = docker("run", "--rm", "--network", "none", tag, "go", "env", "GOCACHE", "GOMODCACHE")
        finally:
            remove_images(tag)
        assert set(result.stdout.split()) == targets == {"/root/.cache/go-build", "/go/pkg/mod"}

    @pytest.mark.xdist_group("image-arm64")
    def test_arm64_cross_build_holds_arm64_binary(self, golang_image: str, bake: Bake) -> None:
        """--platform linux/arm64 cross-compiles on amd64: an arm64 image with a static arm64 binary."""
        project = bake()
        tag = image_tag("arm64")
        try:
            build_args = {"GOLANG_IMAGE": golang_image}
            build = build_image(project, tag, build_args=build_args, platform="linux/arm64", network="none")
            record_measurement("default-arm64", first_build_seconds=round(build.seconds, 1))
            architecture = image_inspect(tag)["Architecture"]
            binary = exported_files(tag, platform="linux/arm64")[SLUG].content
        finally:
            remove_images(tag)
        assert architecture == "arm64"
        assert binary is not None
        assert elf.machine(binary) == elf.MACHINES["arm64"]
        assert elf.is_static(binary)


# --- The generated `make image-test` -----------------------------------------------------------------------------


class TestImageTestTarget:
    """The generated project's container-structure-test config passes on its image and catches a shell."""

    # `make docker-build` builds on Docker's default network: only variants whose build needs none.
    @pytest.mark.parametrize("variant", [variant_param(v) for v in VARIANTS if v.build_network == "none"])
    def test_make_image_test_passes(
        self, variant: Variant, golang_image: str, bake: Bake, structure_test: str, docker_first_on_path: str
    ) -> None:
        """`make image-test` builds the image and container-structure-test passes on it."""
        project = bake(**variant.bake_answers)
        repository = f"{IMAGE_REPOSITORY}-cst-{variant.name}-{os.getpid()}"
        try:
            command = [require_tool("make"), "image-test", f"IMAGE={repository}"]
            output = run(command, cwd=project, env={"PATH": docker_first_on_path, "GOLANG_IMAGE": golang_image})
        finally:
            remove_images(f"{repository}:dev", f"{repository}:latest")
        assert re.search(r"^PASS$", output, re.MULTILINE), output
        assert re.search(r"^Failures:\s+0$", output, re.MULTILINE), output

    def test_image_test_config_rejects_image_with_shell(
        self, image: BuiltImage, structure_test: str, tmp_path: Path
    ) -> None:
        """The same config fails on the image with a shell added, naming /bin/sh."""
        tag = f"{image.tag}-shell"
        try:
            build_derived(image.tag, tmp_path, tag, {"/bin/sh": BUSYBOX})
            result = subprocess.run(
                [structure_test, "test", "--image", tag, "--config", "container-structure-test.yaml"],
                cwd=image.project,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        finally:
            remove_images(tag)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert "Error: File /bin/sh should not exist but does" in output, output
