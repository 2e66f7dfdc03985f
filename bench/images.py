"""Image builds and sizes: this template's Dockerfile against the founding document's, and runtime bases.

Cold builds use `--no-cache`; this template's Go cache mounts get an id unique
to the run (a copy of its Dockerfile, given with -f, says `id=<run>/...`), so
they start empty as on a newcomer's machine, and the warm rebuilds after a
one-line change reuse them. The golang builder image is already local in both
cases (the benchmark pulls nothing): cold here means "no layer or Go cache",
not "nothing downloaded".
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BENCH_DIR, GO_VERSION, SLUG, TEMPLATE_DIR, BenchError, bake, median, project_answers, timed
from bench.runtimes import import_runtimes
from harness import docker as dockercli
from harness.golang_image import ensure_golang_image
from harness.loopback import answers, free_port
from harness.waiting import wait_for

SEED_DOCKERFILE = BENCH_DIR / "seed.Dockerfile"
CACHE_MOUNT = re.compile(r"--mount=type=cache,target=(\S+)")
CHANGED_FILE = "handlers.go"


def with_fresh_caches(dockerfile: str, run_id: str) -> str:
    """Give every cache mount an id of this run, so that the first build starts with empty caches."""
    rewritten, count = CACHE_MOUNT.subn(
        lambda match: f"--mount=type=cache,id={run_id}{match[1]},target={match[1]}", dockerfile
    )
    if count == 0:
        raise BenchError("the template's Dockerfile has no cache mount to give a fresh id")
    return rewritten


def change_one_line(project: Path, edit: str) -> None:
    """Make a one-line source change, as a developer's edit between two builds.

    The edit names the run: a content that no earlier build has seen, so that
    no layer cache from an earlier run can answer for the build.
    """
    path = project / CHANGED_FILE
    with path.open("a", encoding="utf-8") as source:
        source.write(f"// Benchmark edit {edit}.\n")


@dataclass
class Recipe:
    """One Dockerfile building the default service, and what its builds took."""

    key: str
    label: str
    context: Path
    dockerfile: Path
    tag: str
    build_args: dict[str, str] = field(default_factory=dict)
    cold: float = float("nan")
    warm: list[float] = field(default_factory=list)

    def build(self, *, cold: bool) -> float:
        """Build the image; return the seconds it took."""
        extra = ["-f", str(self.dockerfile), *(["--no-cache"] if cold else [])]
        return dockercli.build_image(self.context, self.tag, build_args=self.build_args, extra=extra).seconds

    @property
    def warm_median(self) -> float:
        """Return the median warm rebuild time."""
        return median(self.warm)


@dataclass(frozen=True)
class Newcomer:
    """The path from the last answer to a healthy container, phase by phase (seconds)."""

    bake: float
    cold_build: float
    serving: float  # from `docker run` to the first 200 on /readyz
    healthy: float  # from `docker run` to Docker's health status "healthy"
    status: str  # Docker's last health status

    @property
    def total(self) -> float:
        """Return the whole path's seconds."""
        return self.bake + self.cold_build + self.healthy


def newcomer_path(workdir: Path, run_id: str) -> tuple[Newcomer, Recipe]:
    """Bake, build cold, run and wait until healthy, as a newcomer would; keep the project for rebuilds."""
    project, bake_seconds = timed(lambda: bake(TEMPLATE_DIR, workdir / "newcomer", project_answers()))
    dockerfile = workdir / "template.Dockerfile"
    dockerfile.write_text(with_fresh_caches((project / "Dockerfile").read_text(encoding="utf-8"), run_id))
    builder = {"GOLANG_IMAGE": ensure_golang_image()}
    recipe = Recipe("template", "this template", project, dockerfile, f"{run_id}-template", build_args=builder)
    recipe.cold = recipe.build(cold=True)
    serving, healthy, status = run_until_healthy(recipe.tag)
    return Newcomer(bake_seconds, recipe.cold, serving, healthy, status), recipe


def run_until_healthy(tag: str) -> tuple[float, float, str]:
    """Run the image on the host's network; return the seconds to serving and to healthy, and the health status."""
    port = free_port()
    start = time.monotonic()
    container = dockercli.run_container(tag, network="host", env={"PORT": str(port)}, options=dockercli.HARDENED)
    try:
        if not wait_for(lambda: answers(port, "/readyz", 200), timeout=30, interval=0.05):
            raise BenchError(f"{tag} did not serve /readyz within 30 s:\n{dockercli.container_logs(container)}")
        serving = time.monotonic() - start
        status = dockercli.wait_for_health(container, timeout=60)
        return serving, time.monotonic() - start, status
    finally:
        dockercli.remove_container(container)


def seed_recipe(project: Path, workdir: Path, run_id: str) -> Recipe:
    """Prepare the founding document's build of the same project.

    Its Dockerfile copies go.sum, which a project without dependencies does not
    have: the context gets an empty one (what `go mod tidy` leaves).
    """
    context = workdir / "seed-context"
    shutil.copytree(project, context)
    (context / "go.sum").touch()
    return Recipe(
        "seed",
        "founding document's Dockerfile",
        context,
        SEED_DOCKERFILE,
        f"{run_id}-seed",
        build_args={"GO_VERSION": GO_VERSION, "GOLANG_IMAGE": ensure_golang_image()},
    )


def rebuild_warm(recipes: list[Recipe], rounds: int, run_id: str) -> None:
    """Rebuild each recipe `rounds` times, each after a one-line change, interleaved."""
    for number in range(rounds):
        for recipe in recipes:
            change_one_line(recipe.context, f"{run_id} {number}")
            recipe.warm.append(recipe.build(cold=False))


# --- Sizes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageSize:
    """One way to ship the default service, and its size in bytes."""

    key: str
    label: str
    bytes: int


def copy_out(tag: str, path: str, destination: Path) -> Path:
    """Copy one file out of an image."""
    container = dockercli.create_container(tag)
    try:
        dockercli.docker("cp", f"{container}:{path}", str(destination))
    finally:
        dockercli.remove_container(container)
    return destination


def on_runtime(base: str, binary: Path, workdir: Path, tag: str) -> str:
    """Build an image of the binary on a base image; return its tag."""
    context = workdir / f"{tag.rsplit('-', 1)[-1]}-context"
    context.mkdir()
    shutil.copy2(binary, context / SLUG)
    (context / "Dockerfile").write_text(
        f'FROM {base}\nCOPY {SLUG} /{SLUG}\nUSER 65532:65532\nENTRYPOINT ["/{SLUG}"]\n', encoding="utf-8"
    )
    dockercli.build_image(context, tag)
    return tag


@dataclass(frozen=True)
class Sizes:
    """Every image of the default service, the binaries, and the extra tags made on the way."""

    images: list[ImageSize]
    binary: Path
    seed_binary_bytes: int
    tags: list[str]

    def get(self, key: str) -> ImageSize:
        """Return the image size with this key."""
        return next(size for size in self.images if size.key == key)


def measure_sizes(template: Recipe, seed: Recipe, workdir: Path, run_id: str) -> Sizes:
    """Measure the images, build the same binary on the runtime bases, and the binary alone."""
    binary = copy_out(template.tag, f"/{SLUG}", workdir / SLUG)
    seed_binary = copy_out(seed.tag, "/app", workdir / "seed-app")
    bases = import_runtimes(run_id)
    distroless = on_runtime(bases["distroless"], binary, workdir, f"{run_id}-on-distroless")
    alpine = on_runtime(bases["alpine"], binary, workdir, f"{run_id}-on-alpine")
    images = [
        ImageSize("binary", "the binary alone (floor)", binary.stat().st_size),
        ImageSize("template", "this template's image (scratch)", dockercli.image_size(template.tag)),
        ImageSize("distroless", "same binary on a distroless-like base", dockercli.image_size(distroless)),
        ImageSize("seed", "founding document's recipe (scratch)", dockercli.image_size(seed.tag)),
        ImageSize("alpine", "same binary on an alpine-like base", dockercli.image_size(alpine)),
    ]
    return Sizes(images, binary, seed_binary.stat().st_size, [*bases.values(), distroless, alpine])
