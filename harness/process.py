"""A generated service as a child process: start it on a free port, drain its output, read its resources.

Its standard output goes to a pipe that a thread drains (where a deployment sends it: a pipe,
never a terminal). Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.loopback import LOOPBACK, answers, free_port
from harness.waiting import wait_for


class ServiceError(RuntimeError):
    """The service could not be built, started or reached."""


class OutputDrain:
    """Read a process's output in a thread, as a log collector would, and keep it."""

    def __init__(self, stream: IO[bytes], *, keep: bool = True) -> None:
        """Start draining the stream; keep what it reads, or only count its lines."""
        self._stream = stream
        self._keep = keep
        self._chunks: list[bytes] = []
        self.lines = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while chunk := self._stream.read1(1 << 16):  # type: ignore[attr-defined]
            with self._lock:
                self.lines += chunk.count(b"\n")
                if self._keep:
                    self._chunks.append(chunk)

    def join(self, timeout: float) -> None:
        """Wait until the stream ends (the process exited), at most timeout seconds."""
        self._thread.join(timeout)

    def text(self) -> str:
        """Return everything read so far."""
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", errors="replace")

    def entries(self) -> list[dict[str, Any]]:
        """Parse every output line as a JSON log entry; a line that is not JSON is kept as {"raw": line}."""
        entries = []
        for line in self.text().splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                entries.append({"raw": line})
        return entries


@dataclass
class Service:
    """A generated service running as a child process, listening on a loopback port."""

    process: subprocess.Popen[bytes]
    port: int
    stdout: OutputDrain
    stderr: OutputDrain

    @property
    def pid(self) -> int:
        """Return the process id."""
        return self.process.pid

    def url(self, path: str = "/") -> str:
        """Return the URL of path on this service."""
        return f"http://{LOOPBACK}:{self.port}{path}"

    def running(self) -> bool:
        """Tell whether the process has not exited yet."""
        return self.process.poll() is None

    def signal(self, signum: signal.Signals = signal.SIGTERM) -> float:
        """Send a signal; return the monotonic time it was sent."""
        sent = time.monotonic()
        self.process.send_signal(signum)
        return sent

    def wait(self, timeout: float) -> int | None:
        """Wait for the process to exit; return its exit code, or None if it still runs."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def logs(self) -> list[dict[str, Any]]:
        """Every JSON line the service wrote to standard output so far."""
        return self.stdout.entries()

    def kill(self) -> None:
        """Kill the process if it still runs, and collect it and its output."""
        if self.running():
            self.process.kill()
        self.process.wait(timeout=10)
        self.stdout.join(5)
        self.stderr.join(5)


def resident_bytes(pid: int) -> int:
    """Return a process's resident set size (VmRSS from /proc) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ServiceError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time a process has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_service(
    binary: Path,
    *,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/readyz",
    ready_timeout: float = 10,
    ready_interval: float = 0.02,
    keep_output: bool = True,
) -> Service:
    """Start the binary on a free loopback port and return once ready_path answers 200.

    Its standard output goes to a pipe that a thread drains, as a container
    runtime's log collector would; keep_output=False only counts the lines.
    """
    port = free_port()
    process = subprocess.Popen(
        [str(binary)],
        env={"PATH": "/usr/bin:/bin", "PORT": str(port), **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if process.stdout is None or process.stderr is None:
        raise ServiceError("no pipes to the service's output")
    service = Service(process, port, OutputDrain(process.stdout, keep=keep_output), OutputDrain(process.stderr))
    if not wait_for(
        lambda: not service.running() or answers(port, ready_path, 200),
        timeout=ready_timeout,
        interval=ready_interval,
    ):
        service.kill()
        raise ServiceError(f"{binary.name} was not ready within {ready_timeout}s:\n{service.stderr.text()}")
    if not service.running():
        service.kill()
        raise ServiceError(f"{binary.name} exited {process.returncode} at startup:\n{service.stderr.text()}")
    return service


@contextlib.contextmanager
def running_service(binary: Path, **options: Any) -> Iterator[Service]:
    """Run the service (start_service options) for a with block; kill it if it still runs afterwards."""
    service = start_service(binary, **options)
    try:
        yield service
    finally:
        service.kill()
