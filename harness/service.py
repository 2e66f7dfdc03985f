"""Run a generated service as a real process on loopback and drive it with real HTTP.

The behaviour tests and the benchmark share these helpers: build the binary
with the local Go toolchain, start it with its standard output drained by a
reader (where a deployment would send it: a pipe, never a terminal), wait until
it is ready, and put it under keep-alive load from many connections while
keeping every single response, so that a test can check each one.

Every wait here is bounded in time, and every request goes to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.waiting import wait_for

LOOPBACK = "127.0.0.1"


class ServiceError(RuntimeError):
    """The service could not be built, started or reached."""


# --- Building -------------------------------------------------------------------


def build_binary(project: Path, output: Path, *, overlay: Mapping[str, str] | None = None) -> Path:
    """Build the project's static binary as the Makefile does, optionally with files replaced.

    overlay maps a file name in the project (e.g. "routes.go") to the source that
    replaces it for this build only (`go build -overlay`), so the baked tree stays
    untouched.
    """
    command = ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(output)]
    if overlay:
        replacements = output.parent / f"{output.name}.overlay"
        replacements.mkdir(parents=True, exist_ok=True)
        mapping = {}
        for name, source in overlay.items():
            path = replacements / name
            path.write_text(source, encoding="utf-8")
            mapping[str(project / name)] = str(path)
        overlay_file = replacements / "overlay.json"
        overlay_file.write_text(json.dumps({"Replace": mapping}), encoding="utf-8")
        command.append(f"-overlay={overlay_file}")
    command.append(".")
    result = subprocess.run(
        command,
        cwd=project,
        env={**os.environ, "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceError(f"`{' '.join(command)}` exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return output


# --- Ports and single requests ----------------------------------------------------


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    """One complete HTTP response."""

    status: int
    body: bytes
    headers: dict[str, str]


def request(
    port: int, path: str, *, method: str = "GET", timeout: float = 5, headers: Mapping[str, str] | None = None
) -> Reply:
    """Make one request on a fresh connection and read the whole response."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request(method, path, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        body = response.read()
        return Reply(response.status, body, {key.lower(): value for key, value in response.getheaders()})
    finally:
        conn.close()


def answers(port: int, path: str, status: int) -> bool:
    """Tell whether GET path answers the status now (False when nothing answers)."""
    try:
        return request(port, path, timeout=1).status == status
    except OSError:
        return False


def listening(port: int) -> bool:
    """Tell whether something accepts TCP connections on the port."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1):
            return True
    except OSError:
        return False


# --- The process -------------------------------------------------------------------


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


# --- Load --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one request got: a status and body, or the error that lost it."""

    connection: int
    sent: float  # monotonic time the request was sent
    status: int | None
    body: bytes
    error: str | None

    @property
    def lost(self) -> bool:
        """Tell whether the request got no complete response."""
        return self.error is not None


class KeepAliveLoad:
    """Send requests back to back on many keep-alive connections, in threads, and keep every outcome.

    Like a load balancer's pool: each connection is reused for request after
    request. `drain()` stops sending new requests (the balancer took the
    instance out), lets every request already sent finish, and joins the threads.
    A connection stops at its first error: that request is recorded as lost.
    """

    def __init__(self, port: int, *, connections: int, path: str = "/", timeout: float = 10) -> None:
        """Prepare connections threads that will GET path on the port."""
        self.port = port
        self.path = path
        self.timeout = timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._threads = [threading.Thread(target=self._work, args=(n,), daemon=True) for n in range(connections)]

    def __enter__(self) -> KeepAliveLoad:
        """Start sending."""
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Drain, if not done yet."""
        self.drain()

    def _work(self, number: int) -> None:
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=self.timeout)
        try:
            while not self._stop.is_set():
                sent = time.monotonic()
                try:
                    conn.request("GET", self.path)
                    response = conn.getresponse()
                    outcome = Outcome(number, sent, response.status, response.read(), None)
                except (OSError, http.client.HTTPException) as err:
                    outcome = Outcome(number, sent, None, b"", f"{type(err).__name__}: {err}")
                with self._lock:
                    self._outcomes.append(outcome)
                if outcome.lost:
                    return
        finally:
            conn.close()

    def drain(self, timeout: float = 30) -> list[Outcome]:
        """Stop sending, wait for the requests in flight, and return every outcome."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            raise ServiceError(f"load connections still busy {timeout}s after draining")
        return self.outcomes()

    def outcomes(self) -> list[Outcome]:
        """Return the outcomes so far."""
        with self._lock:
            return list(self._outcomes)


class ReadinessWatch:
    """Poll /readyz on its own keep-alive connection and note when it first answers 503."""

    def __init__(self, port: int, *, interval: float = 0.005) -> None:
        """Prepare a watch of /readyz on the port every interval seconds."""
        self.port = port
        self.interval = interval
        self.first_503: float | None = None
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ReadinessWatch:
        """Start watching."""
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop watching."""
        self._stop.set()
        self._thread.join(10)

    def _watch(self) -> None:
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=5)
        try:
            while not self._stop.is_set() and self.first_503 is None:
                try:
                    conn.request("GET", "/readyz")
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    return
                self.statuses.append(response.status)
                if response.status == 503:
                    self.first_503 = time.monotonic()
                time.sleep(self.interval)
        finally:
            conn.close()


# --- A request still uploading --------------------------------------------------------


class SlowUpload:
    """A GET / whose one-byte body is held back: the request is in the handler until the byte is sent.

    net/http reads the unread rest of a small request body before it sends the
    response, so the response waits for the byte. While it waits, the connection
    is active, so Server.Shutdown must wait for it: an in-flight request.
    """

    def __init__(self, port: int, *, timeout: float = 20) -> None:
        """Connect and send the request's headers, holding back its body."""
        self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        head = f"GET / HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nContent-Length: 1\r\n\r\n"
        self.sock.sendall(head.encode())

    def finish(self) -> bytes:
        """Send the held-back byte and return the raw response, up to the server closing or a full reply."""
        self.sock.sendall(b"x")
        return read_response(self.sock)

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()


def read_response(sock: socket.socket) -> bytes:
    """Read one HTTP/1.1 response with a Content-Length body from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def status_of(raw: bytes) -> int | None:
    """Return the status code of a raw HTTP response, or None if there is none."""
    parts = raw.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def body_of(raw: bytes) -> bytes:
    """Return the body of a raw HTTP response."""
    return raw.partition(b"\r\n\r\n")[2]


# --- SIGTERM under load ---------------------------------------------------------------


@dataclass(frozen=True)
class ShutdownRun:
    """What the clients saw across one SIGTERM under load."""

    signalled: float  # monotonic time the signal was sent
    first_503: float | None  # when /readyz first answered 503
    outcomes: list[Outcome]  # every request of the load, in order of completion
    listener_closed: float | None  # when the port stopped accepting connections (None: not within the bound)
    upload_response: bytes  # the raw answer to the request still uploading when the listener closed

    def after_signal(self) -> list[Outcome]:
        """Return the requests sent after the signal."""
        return [outcome for outcome in self.outcomes if outcome.sent > self.signalled]

    def lost(self) -> list[Outcome]:
        """Return the requests that got no complete response."""
        return [outcome for outcome in self.outcomes if outcome.lost]


def sigterm_under_load(
    port: int,
    send_sigterm: Callable[[], float],
    *,
    connections: int,
    load_before: float,
    balancer_reaction: float,
    listener_bound: float,
) -> ShutdownRun:
    """Put the service under keep-alive load, send SIGTERM, and play the load balancer's part.

    The load runs load_before seconds, then send_sigterm() signals the service
    and returns when it did. The balancer keeps sending for balancer_reaction
    seconds (it takes that long to see /readyz at 503), then stops. Meanwhile one
    request is still uploading its body: it is finished only once the listener
    has closed (waited for at most listener_bound seconds after the balancer stops).
    """
    with ReadinessWatch(port) as watch, KeepAliveLoad(port, connections=connections) as load:
        time.sleep(load_before)
        upload = SlowUpload(port)
        signalled = send_sigterm()
        time.sleep(max(0.0, signalled + balancer_reaction - time.monotonic()))
        outcomes = load.drain()
    try:
        closed = wait_for(lambda: not listening(port), timeout=listener_bound, interval=0.02)
        closed_at = time.monotonic() if closed else None
        upload_response = upload.finish()
    finally:
        upload.close()
    return ShutdownRun(signalled, watch.first_503, outcomes, closed_at, upload_response)
