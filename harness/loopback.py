"""Loopback addresses, free ports, and single HTTP requests: on a fresh connection or a raw socket.

Every request here goes to 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Mapping
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"


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
    port: int,
    path: str,
    *,
    method: str = "GET",
    timeout: float = 5,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    """Make one request (with a body, when given) on a fresh connection and read the whole response."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Connection": "close", **(headers or {})})
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
