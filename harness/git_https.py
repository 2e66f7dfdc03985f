"""Git repositories served over https on loopback: git's own http-backend behind a small TLS server.

For tests of tools that accept only https:// URLs: git clones and lists them like any hosted
repository (smart HTTP), trusting the server's self-signed certificate only through GIT_SSL_CAINFO.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness.loopback import LOOPBACK
from harness.tools import require_tool

HTTP_BACKEND_TIMEOUT = 120


@dataclass(frozen=True)
class GitHttps:
    """A running server: the base URL of the repositories under its root, and the certificate to trust."""

    url: str
    ca_file: Path


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl: (certificate, key)."""
    certificate, key = directory / "server.pem", directory / "server.key"
    command = [require_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-subj", f"/CN={LOOPBACK}", "-addext", f"subjectAltName=IP:{LOOPBACK}"]
    command += ["-keyout", str(key), "-out", str(certificate)]
    subprocess.run(command, capture_output=True, check=True, timeout=60)
    return certificate, key


def backend_handler(root: Path) -> type[BaseHTTPRequestHandler]:
    """A request handler that hands each request to `git http-backend` (CGI) for the repositories under root."""
    backend = shutil.which("git-http-backend", path="/usr/lib/git-core:/usr/libexec/git-core") or "git-http-backend"

    class Handler(BaseHTTPRequestHandler):
        """GET and POST, as git's smart HTTP protocol uses them."""

        def do_GET(self) -> None:
            """Answer a ref advertisement."""
            self.relay()

        def do_POST(self) -> None:
            """Answer an upload-pack request."""
            self.relay()

        def relay(self) -> None:
            """Run http-backend with the request as CGI and send its answer."""
            path, _, query = self.path.partition("?")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            env = {
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "REMOTE_ADDR": LOOPBACK,
            }
            result = subprocess.run(
                [backend], input=body, env=env, capture_output=True, timeout=HTTP_BACKEND_TIMEOUT, check=False
            )
            head, _, payload = result.stdout.partition(b"\r\n\r\n")
            headers = [line.split(":", 1) for line in head.decode("latin-1").split("\r\n") if ":" in line]
            status = next((value.strip() for name, value in headers if name.lower() == "status"), "200 OK")
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            for name, value in headers:
                if name.lower() != "status":
                    self.send_header(name, value.strip())
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            """Keep quiet."""

    return Handler


class TlsServer(ThreadingHTTPServer):
    """A threaded HTTP server that ends each TLS connection with close_notify, as strict clients (GnuTLS) expect."""

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        """Close the TLS layer first, then the connection."""
        if isinstance(request, ssl.SSLSocket):
            with contextlib.suppress(OSError, ssl.SSLError):
                request.unwrap()
        super().shutdown_request(request)


@contextmanager
def git_https(root: Path, scratch: Path) -> Iterator[GitHttps]:
    """Serve the git repositories under root at https://127.0.0.1:<port>/<name> until the block ends."""
    require_tool("git")
    certificate, key = self_signed(scratch)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server = TlsServer((LOOPBACK, 0), backend_handler(root))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield GitHttps(f"https://{LOOPBACK}:{server.server_address[1]}", certificate)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
