"""A real OpenTelemetry Collector on loopback: the OTLP receiver, writing what it receives to a file.

The collector is built from the module proxy (harness/otelcol/: the collector's own
otelcol, otlpreceiver and the contrib fileexporter, at the versions its go.mod pins) once per
machine, into a cache directory keyed by the version and a hash of that module, as the
collector's builder (ocb) would assemble it. Run ``python -m harness.otelcol`` from the
repository root to build it and print its path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.build import CACHE_DIR, cached_binary
from harness.loopback import LOOPBACK, free_port, listening
from harness.waiting import wait_for

MODULE_DIR = Path(__file__).resolve().parent / "otelcol"
VERSION = re.search(
    r"go\.opentelemetry\.io/collector/otelcol (v\S+)", (MODULE_DIR / "go.mod").read_text(encoding="utf-8")
)

CONFIG = """\
receivers:
  otlp:
    protocols:
      http:
        endpoint: {endpoint}
exporters:
  file:
    path: {output}
    flush_interval: 100ms
  nop:
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [{exporter}]
"""


def collector_binary() -> Path:
    """Build the collector unless the cache holds this version already; return its path."""
    sources = b"".join((MODULE_DIR / name).read_bytes() for name in ("go.mod", "go.sum", "main.go"))
    version = VERSION[1] if VERSION else "unknown"

    def build(partial: Path) -> None:
        subprocess.run(
            ["go", "build", "-trimpath", "-o", str(partial), "."],
            cwd=MODULE_DIR,
            env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"},
            check=True,
            capture_output=True,
            timeout=1200,
        )

    return cached_binary(CACHE_DIR / f"otelcol-{version}-{hashlib.sha256(sources).hexdigest()[:12]}" / "otelcol", build)


@dataclass
class Collector:
    """A running collector: where to send OTLP/HTTP, and what it wrote."""

    endpoint: str  # http://127.0.0.1:<port>, for OTEL_EXPORTER_OTLP_ENDPOINT
    output: Path
    process: subprocess.Popen[bytes]

    def batches(self) -> list[dict[str, Any]]:
        """Every OTLP/JSON export the collector wrote so far, one per line."""
        if not self.output.is_file():
            return []
        lines = self.output.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def spans(self) -> list[dict[str, Any]]:
        """Every span received so far, each with its resource's attributes under "resource"."""
        found = []
        for batch in self.batches():
            for resource_spans in batch.get("resourceSpans", []):
                resource = attributes(resource_spans.get("resource", {}))
                for scope_spans in resource_spans.get("scopeSpans", []):
                    found += [{**span, "resource": resource} for span in scope_spans.get("spans", [])]
        return found


def attributes(item: dict[str, Any]) -> dict[str, Any]:
    """Read OTLP/JSON attributes as a plain dict: {"service.name": "checkout", ...}."""
    return {attribute["key"]: next(iter(attribute["value"].values()), None) for attribute in item.get("attributes", [])}


@contextlib.contextmanager
def running_collector(*, exporter: str = "file") -> Iterator[Collector]:
    """Run the collector on a free loopback port, writing to a file (or, with exporter="nop", nowhere)."""
    binary = collector_binary()
    with tempfile.TemporaryDirectory(prefix="otelcol-") as tmp:
        port = free_port()
        output = Path(tmp) / "spans.jsonl"
        config = Path(tmp) / "config.yaml"
        config.write_text(
            CONFIG.format(endpoint=f"{LOOPBACK}:{port}", output=output, exporter=exporter), encoding="utf-8"
        )
        log = (Path(tmp) / "collector.log").open("wb")
        process = subprocess.Popen([str(binary), "--config", f"file:{config}"], stdout=log, stderr=log)
        try:
            if not wait_for(lambda: process.poll() is not None or listening(port), timeout=30, interval=0.05):
                raise RuntimeError("the collector did not listen within 30 s")
            if process.poll() is not None:
                raise RuntimeError(
                    f"the collector exited {process.returncode}: {(Path(tmp) / 'collector.log').read_text()}"
                )
            yield Collector(f"http://{LOOPBACK}:{port}", output, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            log.close()


if __name__ == "__main__":
    print(collector_binary())
