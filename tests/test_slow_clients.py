"""Slow-loris clients: a connection that trickles a request's headers or body is closed once the request
is overdue, while ordinary requests go on being answered. Real waitress on a loopback port."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from conftest import running
from sentry_image.service.slow_clients import create_deadline_server

DEADLINE_S = 1.0


def hello(environ, start_response):  # noqa: ANN001, ANN201
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(2 + len(body)))])
    return [b"ok" + body]


@contextlib.contextmanager
def deadline_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr("sentry_image.service.slow_clients.CHECK_EVERY_S", 0.2)
    with running(create_deadline_server(hello, deadline_s=DEADLINE_S, listen="127.0.0.1:0", threads=2)) as port:
        yield port


def seconds_until_closed(sock: socket.socket, trickle: list[bytes], limit: float = 10.0) -> float:
    """Send ``trickle`` one piece every 0.2 s (then keep sending spaces) until the server closes the
    connection; the seconds that took (``limit`` when it never did)."""
    start = time.monotonic()
    sock.settimeout(0.2)
    pieces = iter(trickle)
    while time.monotonic() - start < limit:
        try:
            sock.sendall(next(pieces, b" "))
            if sock.recv(1024) == b"":
                return time.monotonic() - start
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    return limit


@pytest.mark.parametrize(
    "trickle",
    [
        [b"GET / HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n"] + [b"X-Slow: 1\r\n"] * 100,  # headers never end
        [b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"],  # then a byte at a time
    ],
    ids=["headers", "body"],
)
def test_a_trickling_request_is_cut_off_and_others_are_served(trickle, monkeypatch) -> None:  # noqa: ANN001
    with deadline_server(monkeypatch) as port, socket.create_connection(("127.0.0.1", port)) as slow:
        answered = []
        timer = threading.Timer(0.5, lambda: answered.append(requests.get(f"http://127.0.0.1:{port}/", timeout=5)))
        timer.start()
        took = seconds_until_closed(slow, trickle)
        timer.join()
        assert DEADLINE_S <= took < DEADLINE_S + 3.0, f"closed after {took:.1f} s"
        assert answered and answered[0].status_code == 200 and answered[0].text == "ok"


def test_an_ordinary_upload_and_keep_alive_are_unaffected(monkeypatch) -> None:
    with deadline_server(monkeypatch) as port, requests.Session() as session:
        body = b"x" * 5_000_000
        r = session.post(f"http://127.0.0.1:{port}/", data=body, timeout=10)
        assert r.status_code == 200 and len(r.content) == 2 + len(body)
        time.sleep(DEADLINE_S + 1.0)  # an idle keep-alive connection is no overdue request
        assert session.get(f"http://127.0.0.1:{port}/", timeout=5).text == "ok"
