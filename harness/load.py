"""The one load generator of tests and benchmark: many clients, every response kept, bounded.

Also what a shutdown under load needs around it: a watch of /readyz, a request still uploading
when the listener closes, and the whole SIGTERM scenario played as a load balancer would.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.loopback import LOOPBACK, listening, read_response
from harness.process import ServiceError
from harness.waiting import wait_for


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


class Load:
    """Send GET path back to back from many clients, in threads, and keep every outcome.

    With keep_alive (the default) each client is one connection of a load balancer's pool, reused
    for request after request; it stops at its first error, which is recorded as lost. Without,
    each request opens a connection of its own, so a balancer of connections routes each afresh;
    a client then carries on after an error. `drain()` stops sending new requests (the balancer
    took the instance out), lets every request already sent finish, and joins the threads.
    Bounded: each client stops after max_requests requests or max_seconds, whichever comes first.
    """

    def __init__(
        self,
        port: int,
        *,
        connections: int,
        host: str = LOOPBACK,
        path: str = "/",
        keep_alive: bool = True,
        timeout: float = 10,
        max_requests: int = 1_000_000,
        max_seconds: float = 300,
    ) -> None:
        """Prepare `connections` clients that will GET path on host:port."""
        self.host = host
        self.port = port
        self.path = path
        self.keep_alive = keep_alive
        self.timeout = timeout
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self._deadline = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._threads = [threading.Thread(target=self._work, args=(n,), daemon=True) for n in range(connections)]

    def __enter__(self) -> Load:
        """Start sending."""
        self._deadline = time.monotonic() + self.max_seconds
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Drain, if not done yet."""
        self.drain()

    def _sending(self, sent: int) -> bool:
        return sent < self.max_requests and not self._stop.is_set() and time.monotonic() < self._deadline

    def _work(self, number: int) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {} if self.keep_alive else {"Connection": "close"}
        sent_count = 0
        try:
            while self._sending(sent_count):
                sent_count += 1
                sent = time.monotonic()
                try:
                    conn.request("GET", self.path, headers=headers)
                    response = conn.getresponse()
                    outcome = Outcome(number, sent, response.status, response.read(), None)
                except (OSError, http.client.HTTPException) as err:
                    outcome = Outcome(number, sent, None, b"", f"{type(err).__name__}: {err}")
                with self._lock:
                    self._outcomes.append(outcome)
                if not self.keep_alive:
                    conn.close()  # the next request connects afresh
                elif outcome.lost:
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
    with ReadinessWatch(port) as watch, Load(port, connections=connections) as load:
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
