"""Tracing: a service generated with opentelemetry sends its spans to a real OpenTelemetry Collector.

The collector is the real one, built from the module proxy with its OTLP receiver and file
exporter (harness/otelcol.py), listening on loopback; the service is the real binary,
configured only through the standard OTEL_* variables. Spans are held back (OTEL_BSP_SCHEDULE_DELAY
of a minute), so the ones the collector receives were flushed by the graceful shutdown.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from harness.answers import SLUG
from harness.build import build_binary
from harness.load import SlowUpload
from harness.loopback import LOOPBACK, free_port, request, status_of
from harness.otelcol import running_collector
from harness.process import running_service
from harness.project import bake_with
from harness.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("tracing")]

SERVICE_NAME = "checkout-under-test"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
SERVER_KIND = 2  # SPAN_KIND_SERVER in OTLP
SHUTDOWN_TIMEOUT = 2.0
HELD_BACK = {"OTEL_BSP_SCHEDULE_DELAY": "60000"}  # milliseconds: spans leave only at shutdown


@pytest.fixture(scope="module")
def binary(cookies_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the service generated with opentelemetry on, as `make build` does."""
    project = bake_with(cookies_session, {"opentelemetry": True})
    return build_binary(project, tmp_path_factory.mktemp("bin") / f"{SLUG}-otel")


def test_spans_reach_a_real_collector_at_shutdown(binary: Path) -> None:
    """The collector gets the service's name, the traced request's span in the caller's trace, and the in-flight one."""
    with running_collector() as collector:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
            "OTEL_SERVICE_NAME": SERVICE_NAME,
            "SHUTDOWN_TIMEOUT": "5s",
            **HELD_BACK,
        }
        with running_service(binary, env=env) as service:
            traced = request(service.port, "/", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"})
            upload = SlowUpload(service.port)
            try:
                time.sleep(0.2)  # let the server read the upload's headers and enter the handler
                service.signal()
                in_flight = upload.finish()
            finally:
                upload.close()
            exit_code = service.wait(timeout=10)
            service.stdout.join(5)
            entries = service.logs()
        wait_for(lambda: len(collector.spans()) >= 2, timeout=10, interval=0.1)
        spans = collector.spans()

    assert traced.status == 200
    assert status_of(in_flight) == 200, in_flight[:200]
    assert exit_code == 0
    assert {span["resource"].get("service.name") for span in spans} == {SERVICE_NAME}
    assert len(spans) == 2, f"want the traced request and the in-flight one (probes get no span): {spans}"
    (continued,) = [span for span in spans if span["traceId"] == TRACE_ID]
    assert continued["parentSpanId"] == PARENT_SPAN_ID
    assert continued["kind"] == SERVER_KIND
    (uploaded,) = [span for span in spans if span["traceId"] != TRACE_ID]
    assert not uploaded.get("parentSpanId"), "the in-flight request carried no traceparent: a trace of its own"
    logged = [entry for entry in entries if entry.get("msg") == "request" and entry.get("trace_id") == TRACE_ID]
    assert [entry["span_id"] for entry in logged] == [continued["spanId"]]


def silent_collector() -> tuple[str, socket.socket]:
    """A port that accepts connections and never answers: a collector that hangs."""
    sock = socket.socket()
    sock.bind((LOOPBACK, 0))
    sock.listen(64)
    return f"http://{LOOPBACK}:{sock.getsockname()[1]}", sock


@pytest.mark.parametrize("collector", ["refused", "silent"])
def test_service_without_collector_serves_and_stops_in_time(binary: Path, collector: str) -> None:
    """With no collector (nothing listens, or it never answers) it serves, and exits 0 within SHUTDOWN_TIMEOUT."""
    endpoint, sock = (f"http://{LOOPBACK}:{free_port()}", None) if collector == "refused" else silent_collector()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "SHUTDOWN_TIMEOUT": f"{SHUTDOWN_TIMEOUT:g}s", **HELD_BACK}
    try:
        with running_service(binary, env=env) as service:
            statuses = [request(service.port, "/").status for _ in range(20)]
            signalled = service.signal()
            exit_code = service.wait(timeout=SHUTDOWN_TIMEOUT + 5)
            stopped_after = time.monotonic() - signalled
    finally:
        if sock is not None:
            sock.close()

    assert statuses == [200] * 20
    assert exit_code == 0, f"exit code {exit_code} (None: still running {SHUTDOWN_TIMEOUT + 5:g} s after SIGTERM)"
    assert stopped_after <= SHUTDOWN_TIMEOUT + 1, f"stopped {stopped_after:.1f} s after SIGTERM"
