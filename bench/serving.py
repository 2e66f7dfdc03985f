"""The running service: throughput and latency under wrk, idle memory, startup, and SIGTERM under load.

Both servers run on the host, built by the same Go with the same flags
(`-trimpath -ldflags=-s -w`, CGO off), each with its standard output on a pipe
that a reader drains (as a container runtime does). The generated service writes
one JSON line per request there, each when it happens; the bare net/http floor
logs nothing, and the same service with LOG_LEVEL=warn shows what the lines cost.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BENCH_DIR, BenchError, median, run_command, timed
from harness import docker as dockercli
from harness.build import build_binary
from harness.load import ShutdownRun, sigterm_under_load
from harness.loopback import answers, free_port
from harness.process import Service, cpu_seconds, resident_bytes, start_service
from harness.waiting import wait_for

HELLO_DIR = BENCH_DIR / "hello"
WRK_CONNECTIONS = 16
WRK_THREADS = 2
LATENCY_LINE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class WrkRun:
    """One wrk run against one server."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float  # the server process's own CPU time per request
    errors: str | None


def wrk(service: Service, seconds: float, path: str = "/") -> WrkRun:
    """Run wrk against GET path on loopback and read its report, with the server's CPU time."""
    cpu_before = cpu_seconds(service.pid)
    output = run_command(
        [
            "wrk",
            f"-t{WRK_THREADS}",
            f"-c{WRK_CONNECTIONS}",
            f"-d{seconds:g}s",
            "--latency",
            service.url(path),
        ]
    )
    cpu = cpu_seconds(service.pid) - cpu_before
    requests = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    latency = {match[1]: float(match[2]) * UNITS[match[3]] for match in LATENCY_LINE.finditer(output)}
    if not (requests and rps and {"50", "99"} <= latency.keys()):
        raise BenchError(f"cannot read wrk's report:\n{output}")
    errors = re.search(r"^\s*(Socket errors:.*|Non-2xx or 3xx responses:.*)$", output, re.MULTILINE)
    count = int(requests[1])
    return WrkRun(count, float(rps[1]), latency["50"], latency["99"], cpu / count * 1e6, errors[1] if errors else None)


@dataclass
class Server:
    """One server under test, and what was measured of it."""

    key: str
    label: str
    binary: Path
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    path: str = "/"  # what wrk asks for
    runs: list[WrkRun] = field(default_factory=list)
    idle_fresh: list[int] = field(default_factory=list)  # VmRSS right after ready, one per start
    idle_after_load: int = 0
    startups: list[float] = field(default_factory=list)
    log_lines: int = 0  # lines written to standard output during the measured runs

    def start(self) -> Service:
        """Start the server, with its output drained (counted, not kept)."""
        return start_service(
            self.binary, env=self.env, ready_path=self.ready_path, ready_interval=0.001, keep_output=False
        )

    def requests(self) -> int:
        """Return the requests wrk completed in the measured runs."""
        return sum(run.requests for run in self.runs)

    def med(self, attribute: str) -> float:
        """Return the median of one WrkRun attribute over the runs."""
        return median([getattr(run, attribute) for run in self.runs])


def build_servers(project: Path, traced: Path, contract: Path, workdir: Path, collector: str) -> dict[str, Server]:
    """Build the floor and the generated service (also with tracing, and with the API option) on the host.

    collector is the OTLP/HTTP endpoint of a real collector that takes the spans and drops them.
    """
    hello = build_binary(HELLO_DIR, workdir / "hello-server")
    service = build_binary(project, workdir / "service-server")
    otel = build_binary(traced, workdir / "otel-server")
    api = build_binary(contract, workdir / "api-server")
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector, "OTEL_TRACES_SAMPLER": "always_on"}
    return {
        "bare": Server("bare", "bare net/http hello-world (floor)", hello, "/"),
        "service": Server("service", "generated service (request logging + panic recovery)", service, "/readyz"),
        "quiet": Server(
            "quiet",
            "generated service, LOG_LEVEL=warn (no request log lines)",
            service,
            "/readyz",
            env={"LOG_LEVEL": "warn"},
        ),
        "probe": Server(
            "probe", "generated service, GET /livez (a probe: no log line)", service, "/readyz", path="/livez"
        ),
        "otel": Server(
            "otel",
            "generated service with opentelemetry, 100% sampled, to a collector",
            otel,
            "/readyz",
            env=tracing,
        ),
        "api": Server("api", "generated service with api=openapi (GET / validated against the spec)", api, "/readyz"),
    }


def measure_startup(server: Server, starts: int) -> None:
    """Start the server `starts` times: time to ready, and idle RSS right after."""
    for _ in range(starts):
        service, seconds = timed(server.start)
        try:
            time.sleep(0.2)  # let the runtime settle before reading its memory
            server.idle_fresh.append(resident_bytes(service.pid))
        finally:
            service.kill()
        server.startups.append(seconds)


def measure_throughput(servers: list[Server], rounds: int, seconds: float) -> None:
    """Run wrk against each server in turn, `rounds` times, after a warm-up run each."""
    running = {server.key: server.start() for server in servers}
    try:
        for server in servers:
            wrk(running[server.key], min(seconds, 3), server.path)  # warm-up, not recorded
        for _ in range(rounds):
            for server in servers:
                service = running[server.key]
                lines = service.stdout.lines
                server.runs.append(wrk(service, seconds, server.path))
                time.sleep(0.2)  # let the drain read the last lines
                server.log_lines += service.stdout.lines - lines
        time.sleep(1)
        for server in servers:
            server.idle_after_load = resident_bytes(running[server.key].pid)
    finally:
        for service in running.values():
            service.kill()


# --- SIGTERM under load ------------------------------------------------------------------

SHUTDOWN_DELAY = 3.0
SHUTDOWN_TIMEOUT = 5.0
SHUTDOWN_ENV = {"SHUTDOWN_DELAY": f"{SHUTDOWN_DELAY:g}s", "SHUTDOWN_TIMEOUT": f"{SHUTDOWN_TIMEOUT:g}s"}
BALANCER_REACTION = SHUTDOWN_DELAY / 2  # seconds the load balancer keeps sending after the signal


@dataclass(frozen=True)
class Shutdown:
    """Requests across one SIGTERM under load, and how the process ended."""

    how: str
    run: ShutdownRun
    exit_code: int | None
    exited_after: float  # seconds from the signal to the exit


def under_load(port: int, send: Callable[[], float]) -> ShutdownRun:
    """Run the shutdown scenario with the benchmark's load."""
    return sigterm_under_load(
        port,
        send,
        connections=WRK_CONNECTIONS,
        load_before=2.0,
        balancer_reaction=BALANCER_REACTION,
        listener_bound=SHUTDOWN_DELAY + 2,
    )


def shutdown_process(binary: Path) -> Shutdown:
    """SIGTERM to the host process under load."""
    service = start_service(binary, env=SHUTDOWN_ENV, keep_output=False)
    try:
        run = under_load(service.port, lambda: service.signal(signal.SIGTERM))
        code = service.wait(timeout=SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT + 5)
        exited = time.monotonic()
    finally:
        service.kill()
    return Shutdown("SIGTERM to the process", run, code, exited - run.signalled)


def shutdown_container(tag: str) -> Shutdown:
    """`docker stop` of the image under load."""
    port = free_port()
    container = dockercli.run_container(
        tag, network="host", env={"PORT": str(port), **SHUTDOWN_ENV}, options=dockercli.HARDENED
    )
    stops: list[dockercli.Stop] = []
    stopper = threading.Thread(target=lambda: stops.append(dockercli.stop_container(container, timeout=15)))

    def docker_stop() -> float:
        sent = time.monotonic()
        stopper.start()
        return sent

    try:
        if not wait_for(lambda: answers(port, "/readyz", 200), timeout=15):
            raise BenchError(f"container not ready:\n{dockercli.container_logs(container)}")
        run = under_load(port, docker_stop)
        stopper.join(SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT + 30)
    finally:
        dockercli.remove_container(container)
    if not stops:
        raise BenchError("docker stop did not return")
    return Shutdown("`docker stop` of the image", run, stops[0].exit_code, stops[0].seconds)
