"""Run every benchmark side by side, print the report, and write docs/benchmarks.md and docs/image-sizes.svg.

    .venv/bin/python -m bench.run            # from the repository root; about ten minutes on two cores
    .venv/bin/python -m bench.run --quick    # one short round of everything, to check the script
    .venv/bin/python -m bench.run --kubernetes   # also rounds of disruptions on a real cluster (bench/kubernetes.py)

Needs a Docker engine (scripts/docker-engine.sh), Go, wrk (Debian package `wrk`) and Debian's
PostgreSQL server (package `postgresql`). Everything runs on loopback; containers use the host's network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import REPO_DIR, TEMPLATE_DIR, BenchError, bake, project_answers, run_command
from bench.database import measure_database
from bench.generation import measure_generation
from bench.images import measure_sizes, newcomer_path, rebuild_warm, seed_recipe
from bench.kubernetes import DEFAULT_ROUNDS, measure_kubernetes
from bench.report import Machine, OptionCost, Results, markdown, svg_chart
from bench.serving import (
    build_servers,
    measure_startup,
    measure_throughput,
    shutdown_container,
    shutdown_process,
)
from harness import docker as dockercli
from harness.golang_image import ensure_golang_image
from harness.otelcol import running_collector
from harness.postgres import INSTALL_HINT
from harness.postgres import available as postgres_available

DOCS_DIR = REPO_DIR / "docs"
# The options whose cost the report shows beside the default service: server key, answer, what is measured.
OPTIONS = (
    (
        "otel",
        "opentelemetry=yes",
        "every request sampled (`OTEL_TRACES_SAMPLER=always_on`) and its span sent over OTLP/HTTP to a real "
        "OpenTelemetry Collector on loopback (built from the module proxy, OTLP receiver, nop exporter), "
        "whose own CPU is not counted.",
    ),
    (
        "api",
        "api=openapi",
        "GET / routed to its operation, the request checked against the description (kin-openapi's "
        "openapi3filter), then answered by the strict server that oapi-codegen generated from it.",
    ),
)


def first_line(command: list[str]) -> str:
    """Return the first line a version command prints."""
    return run_command(command).strip().splitlines()[0] if shutil.which(command[0]) else "not installed"


def cpu_model() -> str:
    """Return the CPU model name."""
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    """Return the total memory in GiB."""
    for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / (1 << 20)
    return float("nan")


def load_average() -> str:
    """Return the one-minute load average."""
    return f"{os.getloadavg()[0]:.1f}"


def describe_machine(load_start: str) -> Machine:
    """Collect the machine facts and tool versions for the report."""
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)  # exits 1 after the version
    wrk_version = wrk.stdout.split()[1] if wrk.stdout.startswith("wrk ") else "unknown"
    return Machine(
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        cpu=cpu_model(),
        cores=os.cpu_count() or 0,
        memory_gib=memory_gib(),
        kernel=f"{platform.system()} {'.'.join(platform.release().split('.')[:2])}",
        load_start=load_start,
        load_end=load_average(),
        go=first_line(["go", "version"]).removeprefix("go version "),
        docker=dockercli.docker("version", "--format", "{{.Server.Version}}").stdout.strip(),
        cookiecutter=importlib.metadata.version("cookiecutter"),
        python=platform.python_version(),
        wrk=wrk_version,
    )


def check_tools() -> None:
    """Fail early when a tool or the Docker engine is missing."""
    for tool in ("go", "wrk"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is not installed")
    if not dockercli.engine_available():
        raise BenchError("no Docker engine answers: run scripts/docker-engine.sh")
    if not postgres_available():
        raise BenchError(f"PostgreSQL is not installed: {INSTALL_HINT}")
    ensure_golang_image()


def step(message: str) -> None:
    """Print a progress line."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def measure(workdir: Path, args: argparse.Namespace) -> Results:
    """Run every benchmark; return what they measured."""
    run_id = f"bench-{os.getpid()}-{int(time.time())}"
    load_start = load_average()
    tags: list[str] = []
    try:
        step("generation time")
        bakes = measure_generation(workdir / "bakes", args.bake_rounds)

        step("newcomer path: bake, cold build of this template, run until healthy")
        newcomer, template = newcomer_path(workdir, run_id)
        tags.append(template.tag)
        step("cold build of the founding document's Dockerfile")
        seed = seed_recipe(template.context, workdir, run_id)
        seed.cold = seed.build(cold=True)
        tags.append(seed.tag)
        step("warm rebuilds after a one-line change")
        rebuild_warm([template, seed], args.build_rounds, run_id)

        step("image sizes")
        sizes = measure_sizes(template, seed, workdir, run_id)
        tags += sizes.tags

        step("service: startup, idle memory, wrk (tracing to a real collector; the API option)")
        project = bake(TEMPLATE_DIR, workdir / "service", project_answers())
        traced = bake(TEMPLATE_DIR, workdir / "traced", project_answers(opentelemetry="yes"))
        contract = bake(TEMPLATE_DIR, workdir / "contract", project_answers(api="openapi"))
        with running_collector(exporter="nop") as collector:
            servers = build_servers(project, traced, contract, workdir, collector.endpoint)
            for server in servers.values():
                measure_startup(server, args.starts)
            measure_throughput(list(servers.values()), args.rounds, args.wrk_seconds)

        step("image sizes with opentelemetry and with the API option")
        options = []
        for key, option, measured in OPTIONS:
            tag = f"{run_id}-{key}"
            tags.append(tag)
            context = {"otel": traced, "api": contract}[key]
            dockercli.build_image(context, tag, build_args={"GOLANG_IMAGE": ensure_golang_image()})
            binary = (servers["service"].binary.stat().st_size, servers[key].binary.stat().st_size)
            image = (sizes.get("template").bytes, dockercli.image_size(tag))
            options.append(OptionCost(option, key, binary, image, measured))

        step("shutdown under load")
        shutdowns = [shutdown_process(servers["service"].binary), shutdown_container(template.tag)]

        step("database: GET /notes/{id} against bare pgx, pool sizes, migration, readiness recovery")
        database = measure_database(workdir / "database", args.rounds, args.wrk_seconds)

        kubernetes = None
        if args.kubernetes:
            step(f"kubernetes: {args.kube_rounds} rounds of disruptions under load, and the control")
            kubernetes = measure_kubernetes(args.kube_rounds)
    finally:
        dockercli.remove_images(*tags)
    return Results(
        machine=describe_machine(load_start),
        bakes=bakes,
        newcomer=newcomer,
        recipes=[template, seed],
        sizes=sizes,
        servers=servers,
        options=options,
        shutdowns=shutdowns,
        wrk_seconds=args.wrk_seconds,
        kubernetes=kubernetes,
        database=database,
    )


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5, help="wrk runs per server (default 5)")
    parser.add_argument("--bake-rounds", type=int, default=15, help="bakes per case (default 15)")
    parser.add_argument("--build-rounds", type=int, default=2, help="warm rebuilds per Dockerfile (default 2)")
    parser.add_argument("--starts", type=int, default=5, help="startups per server (default 5)")
    parser.add_argument("--wrk-seconds", type=float, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--quick", action="store_true", help="one short round of everything")
    parser.add_argument("--kubernetes", action="store_true", help="also measure on a real cluster (root)")
    parser.add_argument(
        "--kube-rounds", type=int, default=DEFAULT_ROUNDS, help=f"cluster rounds (default {DEFAULT_ROUNDS})"
    )
    parser.add_argument("--no-write", action="store_true", help="print the report without writing docs/")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.bake_rounds, args.build_rounds, args.starts, args.wrk_seconds = 1, 1, 1, 1, 3
        args.kube_rounds = 1
    return args


def main() -> int:
    """Measure, print the report and write it."""
    args = parse_args()
    check_tools()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        results = measure(Path(tmp), args)
    page = markdown(results)
    print(page)
    if not args.no_write:
        DOCS_DIR.mkdir(exist_ok=True)
        (DOCS_DIR / "benchmarks.md").write_text(page, encoding="utf-8")
        (DOCS_DIR / "image-sizes.svg").write_text(svg_chart(results.sizes), encoding="utf-8")
        step(f"wrote {DOCS_DIR / 'benchmarks.md'} and {DOCS_DIR / 'image-sizes.svg'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
