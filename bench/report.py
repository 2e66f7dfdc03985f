"""The benchmark's report: a markdown page of tables and an SVG bar chart of the image sizes.

Sizes are in decimal units (1 MB = 1,000,000 bytes, 1 kB = 1,000 bytes), as Docker shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from bench.common import median, ratio
from bench.database import DEFAULT_MAX_CONNS, TUNED_MAX_CONNS, DatabaseFigures
from bench.generation import BakeTime
from bench.images import ImageSize, Newcomer, Recipe, Sizes
from bench.kubernetes import HEADER as KUBE_HEADER
from bench.kubernetes import KubeFigures
from bench.kubernetes import table_rows as kube_rows
from bench.serving import (
    BALANCER_REACTION,
    SHUTDOWN_DELAY,
    SHUTDOWN_TIMEOUT,
    WRK_CONNECTIONS,
    WRK_THREADS,
    Server,
    Shutdown,
)

RERUN = ".venv/bin/python -m bench.run"

# The targets the template sets itself.
IMAGE_OVERHEAD_LIMIT = 300_000  # bytes over the binary
WARM_LIMIT = 0.10  # warm rebuild / cold build
THROUGHPUT_FLOOR = 0.90  # of bare net/http
P99_LIMIT = 1.2  # x bare net/http
IDLE_RSS_LIMIT = 10_000_000  # bytes
BAKE_LIMIT = 1.5  # x the one-file bake
NEWCOMER_LIMIT = 60.0  # seconds


@dataclass(frozen=True)
class Machine:
    """What the numbers were measured on."""

    date: str
    cpu: str
    cores: int
    memory_gib: float
    kernel: str
    load_start: str
    load_end: str
    go: str
    docker: str
    cookiecutter: str
    python: str
    wrk: str


@dataclass(frozen=True)
class OptionCost:
    """What one option costs: bytes without and with it, and its server's key in Results.servers."""

    option: str  # the answer that turns it on, e.g. opentelemetry=yes
    server: str
    binary: tuple[int, int]
    image: tuple[int, int]
    measured: str  # what the "with" server does per request, in a sentence


@dataclass(frozen=True)
class Results:
    """Everything one run measured."""

    machine: Machine
    bakes: dict[str, BakeTime]
    newcomer: Newcomer
    recipes: list[Recipe]
    sizes: Sizes
    servers: dict[str, Server]
    options: list[OptionCost]
    shutdowns: list[Shutdown]
    wrk_seconds: float
    kubernetes: KubeFigures | None = None  # with --kubernetes only
    database: DatabaseFigures | None = None  # without --no-database


def mb(size: float) -> str:
    """Format bytes as MB."""
    return f"{size / 1e6:.2f}"


def kb(size: float) -> str:
    """Format bytes as kB."""
    return f"{size / 1e3:.0f} kB"


def times(value: float) -> str:
    """Format a ratio as a multiple."""
    return f"{value:.2f}x"


def percent(value: float) -> str:
    """Format a ratio as a percentage."""
    return f"{value * 100:.0f}%"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Format a markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def verdict(met: bool, miss: str) -> str:
    """Say whether a target is met, or how it was missed."""
    return "yes" if met else f"**no**: {miss}"


# --- Targets ---------------------------------------------------------------------------


def target_rows(results: Results) -> list[list[str]]:
    """One row per target: goal, measured, met (and by how much it was missed)."""
    sizes = results.sizes
    floor = sizes.get("binary").bytes
    template = sizes.get("template").bytes
    seed = sizes.get("seed").bytes
    overhead = template - floor
    ours, theirs = results.recipes
    warm, seed_warm = ratio(ours.warm_median, ours.cold), ratio(theirs.warm_median, theirs.cold)
    bare, service, quiet = results.servers["bare"], results.servers["service"], results.servers["quiet"]
    throughput = ratio(service.med("rps"), bare.med("rps"))
    quiet_p99 = ratio(quiet.med("p99_ms"), bare.med("p99_ms"))
    p99 = ratio(service.med("p99_ms"), bare.med("p99_ms"))
    idle = max(service.idle_fresh)
    bake = ratio(results.bakes["default"].seconds, results.bakes["floor"].seconds)
    newcomer = results.newcomer
    lost = [len(shutdown.run.lost()) for shutdown in results.shutdowns]
    default_bake = results.bakes["default"]
    no_hooks = ratio(results.bakes["default_no_hooks"].seconds, results.bakes["floor"].seconds)
    serving = newcomer.bake + newcomer.cold_build + newcomer.serving
    return [
        [
            "Image content",
            f"binary + {kb(IMAGE_OVERHEAD_LIMIT)} at most",
            f"binary + {kb(overhead)} ({times(ratio(template, floor))}); founding recipe {times(ratio(seed, floor))}",
            verdict(overhead <= IMAGE_OVERHEAD_LIMIT, f"{kb(overhead - IMAGE_OVERHEAD_LIMIT)} over"),
        ],
        [
            "Warm rebuild after a one-line change",
            f"{percent(WARM_LIMIT)} of cold at most",
            f"{percent(warm)} ({ours.warm_median:.1f} s of {ours.cold:.1f} s); founding recipe {percent(seed_warm)}",
            verdict(warm <= WARM_LIMIT, f"{(warm - WARM_LIMIT) * 100:.0f} percentage points over"),
        ],
        [
            "GET / throughput",
            f"{percent(THROUGHPUT_FLOOR)} of bare net/http at least",
            f"{percent(throughput)} ({service.med('rps'):,.0f} vs {bare.med('rps'):,.0f} requests/s)",
            verdict(throughput >= THROUGHPUT_FLOOR, throughput_miss(results)),
        ],
        [
            "GET / p99 latency",
            f"{times(P99_LIMIT)} bare net/http at most",
            f"{times(p99)} ({service.med('p99_ms'):.2f} vs {bare.med('p99_ms'):.2f} ms)",
            verdict(
                p99 <= P99_LIMIT,
                f"{times(p99)} against {times(P99_LIMIT)}; without request log lines {times(quiet_p99)}",
            ),
        ],
        [
            "Idle RSS",
            f"{mb(IDLE_RSS_LIMIT)} MB at most",
            f"{mb(idle)} MB (after load: {mb(service.idle_after_load)} MB)",
            verdict(idle <= IDLE_RSS_LIMIT, f"{mb(idle - IDLE_RSS_LIMIT)} MB over"),
        ],
        [
            "Default bake",
            f"{times(BAKE_LIMIT)} a one-file cookiecutter run at most",
            f"{times(bake)} ({default_bake.seconds:.2f} vs {results.bakes['floor'].seconds:.2f} s)",
            verdict(
                bake <= BAKE_LIMIT,
                f"{times(bake - BAKE_LIMIT)} over; it renders {default_bake.files} files where the floor renders "
                f"one; without hooks it takes {times(no_hooks)}, so the hooks cost {times(bake - no_hooks)} and "
                f"the rendering {times(no_hooks - 1)} over the floor",
            ),
        ],
        [
            "Newcomer: bake, cold image build, run, healthy",
            f"{NEWCOMER_LIMIT:.0f} s at most",
            f"{newcomer.total:.1f} s: bake {newcomer.bake:.1f} + cold build {newcomer.cold_build:.1f} + "
            f"run to {newcomer.status} {newcomer.healthy:.1f} (serving after {newcomer.serving:.1f}, "
            f"{serving:.1f} s in all)",
            verdict(newcomer.total <= NEWCOMER_LIMIT and newcomer.status == "healthy", newcomer_miss(newcomer)),
        ],
        [
            "Requests lost across SIGTERM under load",
            "0",
            ", ".join(f"{count} ({shutdown.how})" for count, shutdown in zip(lost, results.shutdowns, strict=True)),
            verdict(not any(lost), f"{sum(lost)} lost"),
        ],
    ]


def throughput_miss(results: Results) -> str:
    """Say by how much GET / throughput missed its floor, and where the points went, from the numbers."""
    servers = results.servers
    bare = servers["bare"].med("rps")
    share = {key: ratio(server.med("rps"), bare) for key, server in servers.items()}
    cpu = {key: f"{server.med('cpu_us_per_request'):.0f}" for key, server in servers.items()}
    return (
        f"{(THROUGHPUT_FLOOR - share['service']) * 100:.0f} percentage points short. Without request log lines "
        f"(LOG_LEVEL=warn) the same binary reaches {percent(share['quiet'])}, so the log lines cost "
        f"{(share['quiet'] - share['service']) * 100:.0f} points and the rest of the service "
        f"{(1 - share['quiet']) * 100:.0f}. Server CPU per request: floor {cpu['bare']} µs, "
        f"no log lines {cpu['quiet']} µs, with them {cpu['service']} µs"
    )


def newcomer_miss(newcomer: Newcomer) -> str:
    """Say by how much the newcomer path missed, and which phase took the most, from the numbers."""
    phases = {
        "the bake": newcomer.bake,
        "the cold image build": newcomer.cold_build,
        "from `docker run` to healthy": newcomer.healthy,
    }
    name, seconds = max(phases.items(), key=lambda phase: phase[1])
    over = newcomer.total - NEWCOMER_LIMIT
    status = "" if newcomer.status == "healthy" else f"; the container ended {newcomer.status}, not healthy"
    return (
        f"{max(over, 0.0):.1f} s over; the longest phase is {name}, {seconds:.1f} s "
        f"({percent(ratio(seconds, newcomer.total))} of the total){status}"
    )


# --- Sections ------------------------------------------------------------------------------


def machine_section(machine: Machine) -> list[str]:
    """Describe the machine and the versions."""
    rows = [
        ["Date (UTC)", machine.date],
        ["CPU", f"{machine.cpu}, {machine.cores} cores"],
        ["Memory", f"{machine.memory_gib:.0f} GiB"],
        ["Kernel", machine.kernel],
        ["Load average (1 min) at start / end", f"{machine.load_start} / {machine.load_end}"],
        ["Go", machine.go],
        ["Docker Engine", f"{machine.docker} (BuildKit)"],
        ["cookiecutter / Python", f"{machine.cookiecutter} / {machine.python}"],
        ["wrk", machine.wrk],
    ]
    return ["## Machine", "", *table(["", ""], rows)]


def generation_section(bakes: dict[str, BakeTime]) -> list[str]:
    """Tabulate the bake times against the floor."""
    floor = bakes["floor"].seconds
    rows = [[bake.case.label, f"{bake.seconds:.2f}", times(ratio(bake.seconds, floor))] for bake in bakes.values()]
    rounds = next(iter(bakes.values())).rounds
    return [
        "## Generation time",
        "",
        f"`cookiecutter --no-input` from the command line, median of {rounds} runs after a warm-up run, "
        "interleaved. The floor is the same command on a template of one file and no hooks.",
        "",
        *table(["Run", "Seconds", "x floor"], rows),
    ]


def size_row(size: ImageSize, floor: int) -> list[str]:
    """Tabulate one image size against the binary."""
    return [size.label, mb(size.bytes), times(ratio(size.bytes, floor)), kb(size.bytes - floor)]


def size_section(sizes: Sizes) -> list[str]:
    """Tabulate the image sizes."""
    floor = sizes.get("binary").bytes
    return [
        "## Image size of the default service",
        "",
        "Image content as `docker image inspect` reports it (uncompressed). The binary is this template's "
        "(`-trimpath -ldflags='-s -w'`), copied out of its image; the founding recipe builds the same source "
        f"without those flags, giving a {mb(sizes.seed_binary_bytes)} MB binary. The distroless-like base is "
        "assembled locally (CA bundle, passwd/group with nonroot, nsswitch.conf, os-release, /tmp; no tzdata, "
        "which gcr.io/distroless/static also carries); the alpine-like base is a static busybox with the CA "
        "bundle and the same /etc files, an approximation: the real alpine base is about 7-8 MB.",
        "",
        *table(["Image", "MB", "x floor", "over the binary"], [size_row(size, floor) for size in sizes.images]),
        "![Image sizes](image-sizes.svg)",
        "",
    ]


def build_section(recipes: list[Recipe]) -> list[str]:
    """Tabulate the cold and warm build times."""
    rows = [
        [
            recipe.label,
            f"{recipe.cold:.1f}",
            f"{recipe.warm_median:.1f}",
            percent(ratio(recipe.warm_median, recipe.cold)),
        ]
        for recipe in recipes
    ]
    rounds = len(recipes[0].warm)
    return [
        "## Image build",
        "",
        "Cold: `docker build --no-cache` with empty Go caches (this template's cache mounts get an id of their "
        "own for the run). Warm: the next build after appending one comment line to handlers.go, median of "
        f"{rounds}. The golang builder image is local in both cases. The founding recipe is built without its "
        "`apk add ca-certificates git` line (no package registry here; the builder image already holds the CA "
        "bundle).",
        "",
        *table(["Dockerfile", "Cold (s)", "Warm (s)", "Warm / cold"], rows),
    ]


def load_figures(server: Server) -> list[str]:
    """A server's label, then its median requests/s, p50, p99 and CPU per request under wrk."""
    return [
        server.label,
        f"{server.med('rps'):,.0f}",
        f"{server.med('p50_ms'):.2f}",
        f"{server.med('p99_ms'):.2f}",
        f"{server.med('cpu_us_per_request'):.1f}",
    ]


def service_section(servers: dict[str, Server], wrk_seconds: float) -> list[str]:
    """Tabulate throughput, latency, memory and startup of the servers."""
    bare, service = servers["bare"], servers["service"]

    def row(server: Server) -> list[str]:
        return [
            *load_figures(server),
            mb(median(server.idle_fresh)),
            mb(server.idle_after_load),
            f"{median(server.startups) * 1000:.0f}",
        ]

    def ratios(server: Server) -> list[str]:
        return [
            f"{server.key} / floor",
            percent(ratio(server.med("rps"), bare.med("rps"))),
            times(ratio(server.med("p50_ms"), bare.med("p50_ms"))),
            times(ratio(server.med("p99_ms"), bare.med("p99_ms"))),
            times(ratio(server.med("cpu_us_per_request"), bare.med("cpu_us_per_request"))),
            times(ratio(median(server.idle_fresh), median(bare.idle_fresh))),
            times(ratio(server.idle_after_load, bare.idle_after_load)),
            times(ratio(median(server.startups), median(bare.startups))),
        ]

    errors = sorted({run.errors for server in servers.values() for run in server.runs if run.errors})
    return [
        "## Service",
        "",
        f"GET / on loopback under `wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{wrk_seconds:g}s --latency`, the "
        "servers in turn, "
        f"median of {len(service.runs)} runs after a warm-up run each; wrk and the server share the machine's "
        "cores. CPU per request is the server process's own user + system time over the requests wrk "
        "completed, which other work on the machine disturbs less than requests per second. Idle RSS is VmRSS "
        "right after the server is ready (median of the startups), and again one second after the load. "
        "Startup is from process start to the first 200 (`/readyz` for the service, `/` for the floor), "
        "median of the startups.",
        "",
        *table(
            [
                "Server",
                "Requests/s",
                "p50 (ms)",
                "p99 (ms)",
                "CPU/request (µs)",
                "Idle RSS (MB)",
                "RSS after load (MB)",
                "Startup to ready (ms)",
            ],
            [
                *[row(server) for server in servers.values()],
                *[ratios(server) for key, server in servers.items() if key != "bare"],
            ],
        ),
        f"During the measured runs the service wrote {service.log_lines:,} log lines for the "
        f"{service.requests():,} requests wrk completed ({ratio(service.log_lines, service.requests()):.3f} per "
        f"request; requests still in flight when wrk stops are logged but not counted by wrk); with "
        f"LOG_LEVEL=warn it wrote {servers['quiet'].log_lines:,}; answering probes (GET /livez) it wrote "
        f"{servers['probe'].log_lines:,}. wrk errors: {'; '.join(errors) if errors else 'none'}.",
        "",
        *log_line_cost(servers),
    ]


def log_line_cost(servers: dict[str, Server]) -> list[str]:
    """Say what a request's log line, written to standard output when it happens, costs per request."""
    bare, service, quiet = servers["bare"], servers["service"], servers["quiet"]
    cpu = service.med("cpu_us_per_request") - quiet.med("cpu_us_per_request")
    return [
        "What a log line costs: each request's line is written to standard output when it happens, one "
        f"write of its own. It costs {cpu:.1f} µs of server CPU per request (service "
        f"{service.med('cpu_us_per_request'):.1f} µs, the same binary without request lines (LOG_LEVEL=warn) "
        f"{quiet.med('cpu_us_per_request'):.1f} µs, bare net/http {bare.med('cpu_us_per_request'):.1f} µs), "
        f"{percent(1 - ratio(service.med('rps'), quiet.med('rps')))} of the throughput "
        f"({service.med('rps'):,.0f} vs {quiet.med('rps'):,.0f} requests/s) and p99 "
        f"{service.med('p99_ms'):.2f} vs {quiet.med('p99_ms'):.2f} ms.",
        "",
    ]


def option_section(cost: OptionCost, servers: dict[str, Server]) -> list[str]:
    """Tabulate what one option costs: bytes, and CPU per request of GET /."""
    service, with_option = servers["service"], servers[cost.server]
    cpu = (service.med("cpu_us_per_request"), with_option.med("cpu_us_per_request"))
    rps = (service.med("rps"), with_option.med("rps"))

    def row(name: str, without: float, with_it: float, unit: Callable[[float], str]) -> list[str]:
        return [name, unit(without), unit(with_it), times(ratio(with_it, without))]

    return [
        f"## The cost of `{cost.option}`",
        "",
        f"The default service against the same service generated with `{cost.option}`, in the runs above: "
        f"{cost.measured}",
        "",
        *table(
            ["", "Without", "With", "With / without"],
            [
                row("Binary (MB)", *cost.binary, mb),
                row("Image (MB)", *cost.image, mb),
                row("GET / CPU per request (µs)", *cpu, lambda value: f"{value:.1f}"),
                row("GET / requests/s", *rps, lambda value: f"{value:,.0f}"),
            ],
        ),
    ]


def shutdown_section(shutdowns: list[Shutdown]) -> list[str]:
    """Tabulate the requests across SIGTERM under load."""

    def row(shutdown: Shutdown) -> list[str]:
        run = shutdown.run
        served = [outcome for outcome in run.outcomes if not outcome.lost]
        after = [outcome for outcome in run.after_signal() if not outcome.lost]
        first_503 = f"{(run.first_503 - run.signalled) * 1000:.0f}" if run.first_503 else "never"
        closed = f"{run.listener_closed - run.signalled:.2f}" if run.listener_closed else "never"
        upload = run.upload_response.split(b"\r\n", 1)[0].decode(errors="replace") or "no answer"
        return [
            shutdown.how,
            f"{len(served) - len(after):,}",
            f"{len(after):,}",
            str(len(run.lost())),
            upload,
            first_503,
            closed,
            f"{shutdown.exited_after:.2f}",
            str(shutdown.exit_code),
        ]

    return [
        "## Shutdown under load",
        "",
        f"{WRK_CONNECTIONS} keep-alive connections send GET / back to back (every response checked); "
        f"SHUTDOWN_DELAY={SHUTDOWN_DELAY:g}s, SHUTDOWN_TIMEOUT={SHUTDOWN_TIMEOUT:g}s. The clients play a load "
        f"balancer that sees /readyz at 503 and stops sending {BALANCER_REACTION:g} s after the signal; one more "
        "request is still uploading its body when the listener closes, and finishes after that.",
        "",
        *table(
            [
                "How",
                "Served before",
                "Served after the signal",
                "Lost",
                "In-flight upload",
                "Signal to /readyz 503 (ms)",
                "Signal to listener closed (s)",
                "Signal to exit (s)",
                "Exit code",
            ],
            [row(shutdown) for shutdown in shutdowns],
        ),
    ]


def database_section(figures: DatabaseFigures | None) -> list[str]:
    """The report's database section."""
    if figures is None:
        return ["## Database", "", "Not measured in this run.", ""]
    servers = figures.servers
    floor = servers["bare"]

    def row(server: Server) -> list[str]:
        return [
            *load_figures(server),
            f"{ratio(server.med('rps'), floor.med('rps')) * 100:.0f}%",
        ]

    errors = sorted({run.errors for server in servers.values() for run in server.runs if run.errors})
    service, tuned = servers["service"], servers["service-tuned"]
    bare_tuned = servers["bare-tuned"]
    header = ["Server", "Requests/s", "p50 (ms)", "p99 (ms)", "CPU/request (µs)", "Requests/s vs floor"]
    return [
        "## Database",
        "",
        f"GET /notes/{{id}} of one stored note on loopback under `wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} "
        f"-d{figures.wrk_seconds:g}s --latency`, against PostgreSQL {figures.postgres} on loopback (Debian's "
        "server, fsync off), the servers in turn, median of "
        f"{len(floor.runs)} runs after a warm-up run each; wrk, the servers and PostgreSQL share the machine's "
        "cores. The floor is bench/barepgx: the same query on a bare pgxpool, no middleware, no log line. "
        f"pgxpool's default pool here is {DEFAULT_MAX_CONNS} connections (the larger of 4 and the cores); "
        f"`pool_max_conns={TUNED_MAX_CONNS}` in DATABASE_URL gives one per wrk connection. "
        "`.venv/bin/python -m bench.database` measures this section alone.",
        "",
        *table(header, [row(server) for server in servers.values()]),
        f"The service reaches {ratio(service.med('rps'), floor.med('rps')) * 100:.0f}% of the bare pgx "
        f"program's requests/s with the default pool ({ratio(tuned.med('rps'), bare_tuned.med('rps')) * 100:.0f}% "
        f"with {TUNED_MAX_CONNS} connections). The larger pool changes the service's requests/s by "
        f"{(ratio(tuned.med('rps'), service.med('rps')) - 1) * 100:+.0f}% and its p99 from "
        f"{service.med('p99_ms'):.2f} to {tuned.med('p99_ms'):.2f} ms. wrk errors: "
        f"{'; '.join(errors) if errors else 'none'}.",
        "",
        *table(
            ["Database step", "Median (ms)", "Runs"],
            [
                step_row("`-migrate` on an empty database (every migration)", figures.migrate_fresh),
                step_row("`-migrate` again, up to date (exit 0)", figures.migrate_again),
                step_row("database stopped -> /readyz 503", figures.readiness_lost),
                step_row("database accepting again -> /readyz 200 (no restart)", figures.readiness_back),
            ],
        ),
    ]


def step_row(name: str, seconds: list[float]) -> list[str]:
    """A row of the database steps: the median in milliseconds and the number of runs."""
    return [name, f"{median(seconds) * 1000:.0f}", str(len(seconds))]


def kubernetes_section(figures: KubeFigures | None) -> list[str]:
    """Tabulate the rounds of disruptions under load on the real cluster, when measured."""
    if figures is None:
        return ["## Kubernetes", "", "Not measured in this run: add `--kubernetes` (needs root).", ""]
    timings = [["`kubectl apply -k` to every pod Ready", f"{figures.apply_to_ready:.1f} s"]]
    if figures.cluster_up is not None:
        timings.insert(0, ["Cluster up (binaries built, node Ready)", f"{figures.cluster_up:.1f} s"])
    if figures.cluster_down is not None:
        timings.append(["Cluster down (every process stopped, host restored)", f"{figures.cluster_down:.1f} s"])
    rounds = len({row.round for row in figures.rounds})
    return [
        "## Kubernetes",
        "",
        f"Kubernetes {figures.version} ({figures.provider}), measured by `python -m bench.kubernetes` "
        f"(`--kube-rounds` here): {rounds} rounds of a pod deleted, a rolling update (2 replicas) to the "
        "other image, and `kubectl drain` refused by the PodDisruptionBudget, each under load from "
        f"{figures.clients} clients in a pod inside the cluster sending GET / through the Service's "
        "ClusterIP, once with a new connection per request and once with keep-alive connections; every "
        "response checked. The control rolls once more without the preStop sleep and with "
        "SHUTDOWN_DELAY=0: it loses requests, so the load can see a loss.",
        "",
        *table(["", ""], timings),
        *table(list(KUBE_HEADER), [list(row) for row in kube_rows(figures)]),
    ]


def markdown(results: Results) -> str:
    """Render the whole report page."""
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `{RERUN}` (Docker engine, Go, wrk and Debian's PostgreSQL needed; about ten minutes on two "
        "cores), which rewrites this page and [image-sizes.svg](image-sizes.svg). Every comparison comes from runs "
        "made side by side in that one invocation; ratios matter more than absolute figures, which depend on "
        "the machine and on whatever else runs on it.",
        "",
        "## Targets",
        "",
        *table(["Target", "Goal", "Measured", "Met"], target_rows(results)),
        *machine_section(results.machine),
        *generation_section(results.bakes),
        *size_section(results.sizes),
        *build_section(results.recipes),
        *service_section(results.servers, results.wrk_seconds),
        *(line for cost in results.options for line in option_section(cost, results.servers)),
        *shutdown_section(results.shutdowns),
        *database_section(results.database),
        *kubernetes_section(results.kubernetes),
    ]
    return "\n".join(lines).rstrip() + "\n"


# --- Chart ---------------------------------------------------------------------------------

BAR_COLOURS = {"binary": "#9e9e9e", "template": "#2e7d32", "distroless": "#1565c0", "seed": "#ef6c00"}
DEFAULT_COLOUR = "#6a1b9a"


def svg_chart(sizes: Sizes) -> str:
    """Draw the image sizes as horizontal bars, labelled with MB and the ratio to the binary."""
    images = sorted(sizes.images, key=lambda size: size.bytes)
    floor = sizes.get("binary").bytes
    label_width, bar_width, row_height, top = 330, 330, 34, 40
    scale = bar_width / max(size.bytes for size in images)
    height = top + row_height * len(images) + 30
    width = label_width + bar_width + 130
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        '<text x="10" y="24" font-size="15" font-weight="bold">Image size of the default service '
        "(MB, uncompressed; x the binary)</text>",
    ]
    for index, size in enumerate(images):
        y = top + index * row_height
        length = max(1.0, size.bytes * scale)
        colour = BAR_COLOURS.get(size.key, DEFAULT_COLOUR)
        parts += [
            f'<text x="{label_width - 8}" y="{y + 18}" text-anchor="end">{escape(size.label)}</text>',
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row_height - 10}" fill="{colour}"/>',
            f'<text x="{label_width + length + 6:.1f}" y="{y + 18}">'
            f"{mb(size.bytes)} MB, {times(ratio(size.bytes, floor))}</text>",
        ]
    parts.append(
        f'<text x="10" y="{height - 10}" font-size="11" fill="#555555">'
        f"Measured by {escape(RERUN)}; details in benchmarks.md</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
