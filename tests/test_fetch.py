"""SSRF-safe URL fetching: schemes, private addresses, redirects, caps, timeouts, content sniffing."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from conftest import encode, photo_like
from http_fixtures import only, serve_routes
from sentry_image.errors import FetchError, ForbiddenURLError, ImageTooLargeError
from sentry_image.service.fetch import SafeFetcher, is_public_address

PNG = encode(photo_like(np.random.default_rng(0), 64))


@pytest.mark.parametrize(
    "ip, public",
    [
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("0.0.0.0", False),
        ("::ffff:127.0.0.1", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("100.100.100.200", False),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("not-an-ip", False),
    ],
)
def test_address_policy(ip: str, public: bool) -> None:
    assert is_public_address(ip) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://10.0.0.1/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.png",
        "http://localhost:8765/api/v1/health",
        "http://192.168.0.10/a.jpg",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_private_and_loopback_urls_are_refused(url: str) -> None:
    with pytest.raises(ForbiddenURLError):
        SafeFetcher().fetch(url)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://x",
        "javascript:alert(1)",
        "http://user:pw@example.com/a.png",
        "http:///nohost",
    ],
)
def test_non_http_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(ForbiddenURLError):
        SafeFetcher().fetch(url)


def test_fetches_image_from_allowed_host() -> None:
    with serve_routes({"/a.png": (200, {"Content-Type": "image/png"}, PNG)}) as base:
        got = SafeFetcher(policy=only("127.0.0.2")).fetch(base + "/a.png")
    assert got.data == PNG and got.ms >= 0


def test_redirect_to_private_address_is_refused() -> None:
    with (
        serve_routes({"/img.png": (200, {"Content-Type": "image/png"}, PNG)}, host="127.0.0.1") as private,
        serve_routes({"/r": (302, {"Location": private + "/img.png"}, b"")}) as base,
    ):
        with pytest.raises(ForbiddenURLError):
            SafeFetcher(policy=only("127.0.0.2")).fetch(base + "/r")


def test_redirect_is_followed_when_allowed() -> None:
    with serve_routes(
        {"/img.png": (200, {"Content-Type": "image/png"}, PNG), "/r": (301, {"Location": "/img.png"}, b"")}
    ) as base:
        assert SafeFetcher(policy=only("127.0.0.2")).fetch(base + "/r").data == PNG


def test_redirect_loop_is_cut() -> None:
    with serve_routes({"/r": (302, {"Location": "/r"}, b"")}) as base, pytest.raises(FetchError, match="redirects"):
        SafeFetcher(policy=only("127.0.0.2")).fetch(base + "/r")


def test_non_image_content_is_refused() -> None:
    with serve_routes({"/page": (200, {"Content-Type": "text/html"}, b"<html>hi</html>")}) as base:
        with pytest.raises(FetchError, match="not an image"):
            SafeFetcher(policy=only("127.0.0.2")).fetch(base + "/page")


def test_http_error_status_is_reported() -> None:
    with serve_routes({}) as base, pytest.raises(FetchError, match="404"):
        SafeFetcher(policy=only("127.0.0.2")).fetch(base + "/missing.png")


def test_oversize_download_is_cut_off() -> None:
    big = PNG + b"\0" * 300_000
    with serve_routes({"/big.png": (200, {"Content-Type": "image/png"}, big)}) as base:
        with pytest.raises(ImageTooLargeError):
            SafeFetcher(max_bytes=100_000, policy=only("127.0.0.2")).fetch(base + "/big.png")


def test_unreachable_host_is_a_fetch_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        port = s.getsockname()[1]  # bound but not listening: connection refused
        with pytest.raises(FetchError, match="could not fetch"):
            SafeFetcher(policy=only("127.0.0.2")).fetch(f"http://127.0.0.2:{port}/a.png")


def test_read_timeout() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        s.listen(1)  # accepts the connection, never answers
        port = s.getsockname()[1]
        with pytest.raises(FetchError, match="timed out"):
            SafeFetcher(read_timeout=0.5, policy=only("127.0.0.2")).fetch(f"http://127.0.0.2:{port}/a.png")


def test_unresolvable_host() -> None:
    with pytest.raises((FetchError, ForbiddenURLError)):
        SafeFetcher().fetch("http://no-such-host.invalid/a.png")
