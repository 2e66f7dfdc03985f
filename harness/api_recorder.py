"""A loopback HTTP server that answers every POST 201 and records it: where the update job's token goes.

The pull and merge request APIs of GitHub and GitLab cannot be reached offline. What the tests check of
that call is what the job sends (method, path, headers, JSON or form body), so a recorder that stands
where the API would (TEMPLATE_UPDATE_API) is all the seam needs; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.loopback import LOOPBACK


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Recorder:
    """The server's base URL and what it received so far."""

    url: str
    requests: list[Recorded] = field(default_factory=list)


@contextlib.contextmanager
def recording_api() -> Iterator[Recorder]:
    """Serve on a free loopback port until the block ends; every request is recorded and answered 201.

    The answer is what both APIs give a new pull or merge request that the job reads: {"number": 1, "iid": 1}.
    """
    recorder = Recorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            recorder.requests.append(Recorded("POST", self.path, dict(self.headers.items()), body))
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            answer = b'{"number": 1, "iid": 1}'
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    recorder.url = f"http://{LOOPBACK}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
