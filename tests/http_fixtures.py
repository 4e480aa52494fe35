"""A tiny local web server on a loopback address, for fetch tests (never any other address)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
