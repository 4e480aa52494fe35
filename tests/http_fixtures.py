"""A tiny local web server on a loopback address, for fetch tests (never any other address)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


def make_handler(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            status, headers, body = routes.get(self.path, (404, {"Content-Type": "text/plain"}, b"not found"))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    return Handler


@contextmanager
def serve_handler(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> Iterator[str]:
    """Serve with ``handler`` on ``host`` at a free port; yield the base URL."""
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_routes(routes: dict[str, tuple[int, dict[str, str], bytes]], host: str = "127.0.0.2") -> Iterator[str]:
    """Serve ``routes`` on ``host`` at a free port; yield the base URL."""
    with serve_handler(make_handler(routes), host) as base:
        yield base


def only(host_ip: str):
    """An address policy that treats exactly one loopback address as 'public' (for tests)."""
    return lambda ip: ip == host_ip


@contextmanager
def range_server(
    files: dict[str, bytes], honour_range: bool = True, cut_after: int | None = None
) -> Iterator[tuple[str, list]]:
    """Serve ``files`` with HTTP Range support; ``cut_after`` drops the connection after that many body
    bytes (an interrupted download). Yields the base URL and the list of Range headers seen."""
    seen: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # noqa: N802
            body = files.get(unquote(self.path.lstrip("/")))
            self.send_response(404 if body is None else 200)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            body = files.get(unquote(self.path.lstrip("/")))
            if body is None:
                self.send_error(404)
                return
            wanted = self.headers.get("Range")
            seen.append(wanted)
            start = int(wanted.split("=")[1].split("-")[0]) if (wanted and honour_range) else 0
            if start >= len(body) and wanted:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            chunk = body[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(chunk)))
            self.end_headers()
            self.wfile.write(chunk if cut_after is None else chunk[:cut_after])

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    with serve_handler(Handler) as base:
        yield base, seen
