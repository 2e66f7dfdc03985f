"""The generated service keeps its promises under traffic, as a real process on loopback.

Each group proves one promise with the real binary (and, for shutdown, the real
image under `docker stop`), driven by real HTTP clients that check every single
response. Load is bounded to a few seconds; timing figures are the benchmark's
business (bench/), except where the promise itself is about time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import docker as dockercli
from harness.answers import SLUG
from harness.build import build_binary
from harness.load import Load, Outcome, ShutdownRun, sigterm_under_load
from harness.loopback import LOOPBACK, answers, body_of, free_port, read_response, request, status_of
from harness.process import Service, running_service
from harness.project import bake_with
from harness.waiting import wait_for

# One worker runs them all (with `--dist loadgroup`): the project, binaries and image are built once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("behaviour")]

GREETING = json.dumps({"name": SLUG, "version": "dev"}, separators=(",", ":")).encode() + b"\n"

# Shutdown settings for the shutdown tests: long enough to see every phase, short enough to keep tests quick.
SHUTDOWN_DELAY = 3.0
SHUTDOWN_TIMEOUT = 5.0
SHUTDOWN_ENV = {"SHUTDOWN_DELAY": f"{SHUTDOWN_DELAY:g}s", "SHUTDOWN_TIMEOUT": f"{SHUTDOWN_TIMEOUT:g}s"}
LOAD_CONNECTIONS = 16
LOAD_BEFORE_SIGTERM = 1.0  # seconds of load before the signal
# How long the load balancer keeps sending after SIGTERM (it notices /readyz at 503 and takes the instance out).
BALANCER_REACTION = SHUTDOWN_DELAY / 2

# The route a user might add that panics; added to the real route table for one build only.
PANIC_ROUTE = '\t\t"GET /panic": http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }),\n'
ROUTES_ANCHOR = '\t\t"GET /{$}": handleRoot(logger),\n'


# --- Fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(cookies_session: Any) -> Path:
    """Bake the default project."""
    return bake_with(cookies_session, {})


@pytest.fixture(scope="module")
def binary(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the default service on the host, as `make build` does."""
    return build_binary(project, tmp_path_factory.mktemp("bin") / SLUG)


def with_panic_route(routes_go: str) -> str:
    """Return routes.go with a GET /panic route added right after GET /."""
    if ROUTES_ANCHOR not in routes_go:
        pytest.fail(f"routes.go no longer registers GET / as {ROUTES_ANCHOR.strip()!r}; update the panic route")
    return routes_go.replace(ROUTES_ANCHOR, ROUTES_ANCHOR + PANIC_ROUTE)


@pytest.fixture(scope="module")
def panicking_binary(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the default service with one more route, GET /panic, whose handler panics.

    Only the route table changes (through `go build -overlay`, the baked tree is
    untouched): main, run, serve and the middleware chain are the generated ones,
    exactly as when a user adds a handler with a bug.
    """
    routes = with_panic_route((project / "routes.go").read_text(encoding="utf-8"))
    return build_binary(project, tmp_path_factory.mktemp("bin") / f"{SLUG}-panic", overlay={"routes.go": routes})


@pytest.fixture(scope="module")
def metrics_binary(cookies_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the service with Prometheus metrics on: its /metrics reports goroutines and memory."""
    project = bake_with(cookies_session, {"prometheus_metrics": True})
    return build_binary(project, tmp_path_factory.mktemp("bin") / f"{SLUG}-metrics")


@pytest.fixture(scope="module")
def image(project: Path, golang_image: str) -> Iterator[str]:
    """Build the default service's image once for this module, with the generated Dockerfile."""
    tag = f"{SLUG}-behaviour:{os.getpid()}"
    dockercli.build_image(project, tag, build_args={"GOLANG_IMAGE": golang_image})
    yield tag
    dockercli.remove_images(tag)


# --- Graceful shutdown under load ------------------------------------------------------


def shutdown_under_load(port: int, send_sigterm: Callable[[], float]) -> ShutdownRun:
    """SIGTERM under 16-connection load, with a balancer that reacts within half the delay."""
    return sigterm_under_load(
        port,
        send_sigterm,
        connections=LOAD_CONNECTIONS,
        load_before=LOAD_BEFORE_SIGTERM,
        balancer_reaction=BALANCER_REACTION,
        listener_bound=SHUTDOWN_DELAY + 2,
    )


def assert_nothing_lost(run: ShutdownRun) -> None:
    """Check the shared promises of a graceful shutdown, request by request."""
    assert run.first_503 is not None, "/readyz never answered 503 after SIGTERM"
    readiness_lag = run.first_503 - run.signalled
    assert readiness_lag < SHUTDOWN_DELAY / 3, f"/readyz turned 503 {readiness_lag:.2f}s after SIGTERM"

    lost = run.lost()
    assert not lost, f"{len(lost)} of {len(run.outcomes)} requests lost, first: {lost[0].error}"
    wrong = [outcome for outcome in run.outcomes if outcome.status != 200 or outcome.body != GREETING]
    assert not wrong, f"{len(wrong)} incomplete or non-200 answers, first: {wrong[0]}"
    assert run.after_signal(), "no request was served after SIGTERM, during SHUTDOWN_DELAY"

    assert run.listener_closed is not None, "the listener was still open after SHUTDOWN_DELAY"
    assert status_of(run.upload_response) == 200, f"in-flight request answered {run.upload_response[:200]!r}"
    assert body_of(run.upload_response) == GREETING, f"in-flight request got {run.upload_response!r}"


def served_requests(entries: list[dict[str, Any]], path: str) -> int:
    """Count the request log lines for path."""
    return sum(1 for entry in entries if entry.get("msg") == "request" and entry.get("path") == path)


def test_sigterm_under_load_loses_no_request(binary: Path) -> None:
    """SIGTERM under keep-alive load: /readyz turns 503 at once, every request gets a 200, the process exits 0."""
    with running_service(binary, env=SHUTDOWN_ENV) as service:
        run = shutdown_under_load(service.port, service.signal)
        exit_code = service.wait(timeout=SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT)
        exited = time.monotonic()
        service.stdout.join(5)
        entries = service.logs()

    assert_nothing_lost(run)
    assert exit_code == 0, f"exit code {exit_code} (None: still running after delay plus timeout)"
    assert exited - run.signalled <= SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT
    # Every request answered was logged: the load's, and the in-flight upload.
    assert served_requests(entries, "/") == len(run.outcomes) + 1
    assert entries[-1].get("msg") == "stopped", f"last log line: {entries[-1]}"


@pytest.mark.docker
def test_docker_stop_under_load_loses_no_request(image: str) -> None:
    """`docker stop` under keep-alive load: same promises, and the container exits 0 before Docker's SIGKILL."""
    port = free_port()
    container = dockercli.run_container(
        image, network="host", env={"PORT": str(port), **SHUTDOWN_ENV}, options=dockercli.HARDENED
    )
    stops: list[dockercli.Stop] = []
    threads: list[threading.Thread] = []

    def docker_stop() -> float:
        sent = time.monotonic()
        # Docker's own grace period is longer than delay plus timeout, so a SIGKILL would show as exit 137.
        stopper = threading.Thread(target=lambda: stops.append(dockercli.stop_container(container, timeout=15)))
        stopper.start()
        threads.append(stopper)
        return sent

    try:
        if not wait_for(lambda: answers(port, "/readyz", 200), timeout=15):
            pytest.fail(f"container not ready:\n{dockercli.container_logs(container)}")
        run = shutdown_under_load(port, docker_stop)
        for thread in threads:
            thread.join(SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT + 20)
        logs = dockercli.container_logs(container)
    finally:
        dockercli.remove_container(container)

    assert_nothing_lost(run)
    assert stops, "docker stop did not return"
    assert stops[0].exit_code == 0, f"container exited {stops[0].exit_code}:\n{logs[-2000:]}"
    assert stops[0].seconds <= SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT
    entries = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert served_requests(entries, "/") == len(run.outcomes) + 1


# --- Quiet probes ----------------------------------------------------------------------------


def test_probes_leave_no_log_line_while_requests_do(binary: Path) -> None:
    """Liveness and readiness probes (startup's included) write nothing at the default level; GET / does."""
    with running_service(binary) as service:
        for _ in range(10):
            request(service.port, "/livez")
            request(service.port, "/readyz")
        request(service.port, "/")
        time.sleep(0.2)  # let the drain thread read the last lines
        entries = service.logs()

    assert [entry["path"] for entry in entries if entry.get("msg") == "request"] == ["/"]


# --- Log lines written when they happen -----------------------------------------------------

LOGGED_REQUESTS = 200


def test_killed_service_has_logged_every_request_it_answered(binary: Path) -> None:
    """SIGKILL right after the last response loses no log line: each is written when it happens, none is held back."""
    with running_service(binary) as service:
        statuses = [request(service.port, "/").status for _ in range(LOGGED_REQUESTS)]
        service.signal(signal.SIGKILL)
        service.kill()  # collects the process and reads its output to the end
        entries = service.logs()

    assert statuses == [200] * LOGGED_REQUESTS
    assert served_requests(entries, "/") == LOGGED_REQUESTS


# --- Slow and oversized clients ----------------------------------------------------------

SLOW_CLIENTS = 100
SLOW_CLIENT_BOUND = 12.0  # seconds: the 5 s ReadHeaderTimeout with a wide margin, below the 15 s ReadTimeout


def trickle_headers_until_cut_off(port: int, count: int, bound: float) -> dict[int, float]:
    """Open count connections that send header bytes slowly and never finish; return when each was cut off."""
    selector = selectors.DefaultSelector()
    opened = time.monotonic()
    for number in range(count):
        sock = socket.create_connection((LOOPBACK, port), timeout=5)
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {LOOPBACK}\r\nX-Slow-{number}: ".encode())
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, number)
    cut_off: dict[int, float] = {}
    next_byte = time.monotonic()
    try:
        while selector.get_map() and time.monotonic() - opened < bound:
            if time.monotonic() >= next_byte:  # one more header byte on each open connection, twice a second
                for key in list(selector.get_map().values()):
                    with contextlib.suppress(OSError):  # a closed connection: the read side reports it
                        key.fileobj.send(b"a")  # type: ignore[union-attr]
                next_byte += 0.5
            for key, _ in selector.select(timeout=0.1):
                sock = key.fileobj
                try:
                    closed = sock.recv(4096) == b""  # type: ignore[union-attr]
                except ConnectionError:
                    closed = True
                if closed:
                    cut_off[key.data] = time.monotonic() - opened
                    selector.unregister(sock)
                    sock.close()  # type: ignore[union-attr]
    finally:
        for key in list(selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        selector.close()
    return cut_off


def test_slow_header_clients_are_cut_off_while_others_are_served(binary: Path) -> None:
    """Connections that never finish their headers are closed by ReadHeaderTimeout; others are served meanwhile."""
    with running_service(binary) as service, Load(service.port, connections=2) as load:
        started = time.monotonic()
        cut_off = trickle_headers_until_cut_off(service.port, SLOW_CLIENTS, SLOW_CLIENT_BOUND)
        served_meanwhile = [outcome for outcome in load.outcomes() if outcome.sent > started]
        outcomes = load.drain()
        still_running = service.running()

    assert len(cut_off) == SLOW_CLIENTS, f"{SLOW_CLIENTS - len(cut_off)} slow connections still open"
    assert min(cut_off.values()) > 1.0, "slow connections were cut off before any header timeout could apply"
    assert served_meanwhile, "no other client was served while the slow connections were open"
    assert all(outcome.status == 200 and outcome.body == GREETING for outcome in outcomes)
    assert still_running


def raw_request(port: int, head: bytes) -> bytes:
    """Send raw request headers and return the raw response (whatever arrives before the server closes)."""
    with socket.create_connection((LOOPBACK, port), timeout=10) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the server may answer and close first
            sock.sendall(head)
        try:
            return read_response(sock)
        except ConnectionResetError:
            return b""


HEADER_CASES = [
    pytest.param(b"X-Big: " + b"a" * (32 << 10) + b"\r\n", 200, id="one-32KiB-header:200"),
    pytest.param(b"X-Big: " + b"a" * (100 << 10) + b"\r\n", 431, id="one-100KiB-header:431"),
    pytest.param(b"".join(b"X-Many-%d: %s\r\n" % (n, b"a" * 100) for n in range(1000)), 431, id="1000-headers:431"),
]


@pytest.mark.parametrize(("headers", "status"), HEADER_CASES)
def test_header_size_is_limited(binary: Path, headers: bytes, status: int) -> None:
    """Request headers beyond MaxHeaderBytes (64 KiB) get 431; smaller ones are served."""
    head = f"GET / HTTP/1.1\r\nHost: {LOOPBACK}\r\nConnection: close\r\n".encode() + headers + b"\r\n"
    with running_service(binary) as service:
        response = raw_request(service.port, head)
        still_serving = request(service.port, "/").status

    assert status_of(response) == status, f"answered {response[:120]!r}"
    assert still_serving == 200


# --- Panics in handlers ---------------------------------------------------------------


def panic_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the log lines that report a panic."""
    return [entry for entry in entries if entry.get("msg") == "panic"]


def test_panicking_handler_answers_500_and_is_logged(panicking_binary: Path) -> None:
    """A handler that panics gets a 500 answer, a log line with the value and stack, and a request log line."""
    with running_service(panicking_binary) as service:
        reply = request(service.port, "/panic")
        after = request(service.port, "/")
        time.sleep(0.2)  # let the drain thread read the last lines
        entries = service.logs()

    assert reply.status == 500
    assert reply.headers["content-type"] == "application/problem+json"
    assert json.loads(reply.body) == {"type": "about:blank", "title": "Internal Server Error", "status": 500}
    assert after.status == 200
    panics = panic_entries(entries)
    assert len(panics) == 1, f"panic log lines: {panics}"
    assert panics[0]["level"] == "ERROR"
    assert panics[0]["value"] == "boom"
    assert re.search(r"goroutine \d+", panics[0]["stack"]), "the panic log line carries no stack"
    requests = [entry for entry in entries if entry.get("msg") == "request" and entry.get("path") == "/panic"]
    assert [entry["status"] for entry in requests] == [500]


def test_service_keeps_serving_while_handlers_panic(panicking_binary: Path) -> None:
    """Panics under concurrent load: each gets its 500 and its log line; every other request is served; no crash."""
    with running_service(panicking_binary) as service:
        with (
            Load(service.port, connections=4) as good,
            Load(service.port, connections=2, path="/panic") as bad,
        ):
            time.sleep(1.5)
            panicked = bad.drain()
            served = good.drain()
        still_running = service.running()
        after = request(service.port, "/")
        time.sleep(0.2)
        entries = service.logs()

    assert still_running
    assert after.status == 200
    assert panicked
    assert all(outcome.status == 500 for outcome in panicked), "a panicking request was not answered 500"
    assert served
    assert all(outcome.status == 200 and outcome.body == GREETING for outcome in served)
    assert len(panic_entries(entries)) == len(panicked)


# --- No leak across a load run -----------------------------------------------------------

METRIC_LINE = re.compile(r"^(?P<name>[a-z_]+) (?P<value>\S+)$", re.MULTILINE)
GOROUTINE_SLACK = 2  # the scrape's own connection, and one that is closing
RSS_SLACK = 4 << 20  # bytes: allocator and GC noise, far below what a per-request leak of 16 connections x 3 s makes


@dataclass(frozen=True)
class Idle:
    """The idle service, as its metrics show it."""

    goroutines: int
    heap_inuse: int
    resident: int

    def __str__(self) -> str:
        """Describe the state for a report."""
        return f"{self.goroutines} goroutines, heap in use {self.heap_inuse >> 10} KiB, RSS {self.resident >> 10} KiB"


def idle_state(metrics_port: int) -> Idle:
    """Scrape /metrics on the admin port once the load's connections are gone."""
    metrics = {match["name"]: float(match["value"]) for match in METRIC_LINE.finditer(scrape(metrics_port))}
    return Idle(
        goroutines=int(metrics["go_goroutines"]),
        heap_inuse=int(metrics["go_memstats_heap_inuse_bytes"]),
        resident=int(metrics["process_resident_memory_bytes"]),
    )


def scrape(metrics_port: int) -> str:
    """Return the service's /metrics page, from its admin listener."""
    return request(metrics_port, "/metrics").body.decode()


def load_for(service: Service, seconds: float) -> list[Outcome]:
    """Put the service under keep-alive load for some seconds; return every outcome."""
    with Load(service.port, connections=LOAD_CONNECTIONS) as load:
        time.sleep(seconds)
        return load.drain()


def settle(metrics_port: int, goroutines: int) -> Idle:
    """Wait (bounded) until the closed connections' goroutines are gone, then return the idle state."""
    wait_for(lambda: idle_state(metrics_port).goroutines <= goroutines, timeout=3, interval=0.1)
    return idle_state(metrics_port)


def test_idle_goroutines_and_memory_stay_flat_across_load(metrics_binary: Path) -> None:
    """After a warm-up, a 3 s load run from 16 connections leaves the idle goroutines and memory where they were."""
    metrics_port = free_port()
    with running_service(metrics_binary, env={"METRICS_PORT": str(metrics_port)}) as service:
        fresh = idle_state(metrics_port)
        warm_up = load_for(service, 1.0)
        before = settle(metrics_port, fresh.goroutines)
        outcomes = load_for(service, 3.0)
        after = settle(metrics_port, before.goroutines)

    # Shown with `pytest -rP`: the figures behind the verdict.
    print(f"fresh: {fresh}\nbefore load: {before}\nafter {len(outcomes)} requests: {after}")
    assert all(outcome.status == 200 for outcome in warm_up + outcomes)
    assert after.goroutines <= before.goroutines + GOROUTINE_SLACK, f"before: {before}; after: {after}"
    assert after.resident <= before.resident + RSS_SLACK, f"before: {before}; after: {after}"
    assert after.heap_inuse <= before.heap_inuse + RSS_SLACK, f"before: {before}; after: {after}"
