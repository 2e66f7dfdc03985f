"""The notes example of a postgres project as a client sees it: single calls and a bounded load of them.

Every request goes to loopback, on a fresh connection, with a timeout; every
load stops after max_seconds or max_requests per client, whichever comes first.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from harness.loopback import request


@dataclass(frozen=True)
class Call:
    """One call of the notes API: what it asked, what it got, and how long it took."""

    method: str
    path: str
    status: int | None  # None: no complete response (the error says why)
    body: bytes
    seconds: float
    error: str | None = None

    def json(self) -> object:
        """The response body, parsed."""
        return json.loads(self.body)


def call(port: int, method: str, path: str, body: bytes | None = None, *, timeout: float = 10) -> Call:
    """Make one call on a fresh connection; a failure to get a whole response is recorded, not raised."""
    start = time.monotonic()
    try:
        reply = request(
            port, path, method=method, timeout=timeout, headers={"Content-Type": "application/json"}, body=body
        )
        return Call(method, path, reply.status, reply.body, time.monotonic() - start)
    except OSError as err:
        return Call(method, path, None, b"", time.monotonic() - start, f"{type(err).__name__}: {err}")


def create_note(port: int, text: str, **options: object) -> Call:
    """POST /notes {"text": text}."""
    return call(port, "POST", "/notes", json.dumps({"text": text}).encode(), **options)  # type: ignore[arg-type]


def read_note(port: int, note_id: int, **options: object) -> Call:
    """GET /notes/{note_id}."""
    return call(port, "GET", f"/notes/{note_id}", **options)  # type: ignore[arg-type]


class NotesLoad:
    """Clients in threads, each creating a note and reading it back, over and over, every call kept.

    `stop()` lets each client finish the call it is making and joins the threads.
    """

    def __init__(
        self,
        port: int,
        *,
        clients: int,
        timeout: float = 10,
        max_seconds: float = 120,
        max_requests: int = 100_000,
    ) -> None:
        """Prepare `clients` clients of the port on loopback."""
        self._port, self._timeout = port, timeout
        self._max_seconds, self._max_requests = max_seconds, max_requests
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(clients)]

    def start(self) -> NotesLoad:
        """Start every client."""
        for thread in self._threads:
            thread.start()
        return self

    def _client(self, number: int) -> None:
        deadline = time.monotonic() + self._max_seconds
        for sequence in range(self._max_requests):
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            created = create_note(self._port, f"client {number} note {sequence}", timeout=self._timeout)
            self._keep(created)
            if created.status == 201:
                note_id = int(created.json()["id"])  # type: ignore[index]
                self._keep(read_note(self._port, note_id, timeout=self._timeout))

    def _keep(self, result: Call) -> None:
        with self._lock:
            self.calls.append(result)

    def snapshot(self) -> list[Call]:
        """The calls made so far."""
        with self._lock:
            return list(self.calls)

    def stop(self, timeout: float = 60) -> list[Call]:
        """Stop the clients after their current call; return every call made."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        return self.snapshot()
