"""A network fault between the loader and the S3 server: a small HTTP proxy in front of moto
that drops or truncates the requests a test names, and forwards everything else unchanged.

The loader talks to it with its real boto3 client (``AWS_ENDPOINT_URL`` = the proxy): what it
sees is what a dying endpoint or a broken connection gives, not a mocked exception.
"""

from __future__ import annotations

import contextlib
import http.client
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.support.http import serving

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class Faults:
    """``(method, path fragment) -> "drop" | "truncate"``; the first rule that matches wins."""

    rules: list[tuple[str, str, str]] = field(default_factory=list)
    seen: list[tuple[str, str]] = field(default_factory=list)

    def fault(self, method: str, path: str) -> str | None:
        for rule_method, fragment, kind in self.rules:
            if method == rule_method and fragment in path:
                return kind
        return None


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


@contextlib.contextmanager
def faulty_s3(upstream: str, faults: Faults) -> Iterator[str]:
    """A proxy to the S3 server at ``upstream``; yields the endpoint URL to give the loader."""
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def _forward(self) -> None:
            body = _read_body(self)
            faults.seen.append((self.command, self.path))
            kind = faults.fault(self.command, self.path)
            if kind == "drop":  # the endpoint dies: the connection closes without an answer
                self.close_connection = True
                self.connection.close()
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                headers.pop("Content-Encoding", None)
            upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                upstream_conn.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream_conn.getresponse()
                data = response.read()
            finally:
                upstream_conn.close()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if kind == "truncate" and self.command == "GET":  # the body breaks off half-way
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()
                return
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    with serving(Handler) as url:
        yield url
