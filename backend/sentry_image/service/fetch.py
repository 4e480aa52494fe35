"""Fetch images from URLs on behalf of web pages without becoming an SSRF proxy.

- http/https only, no credentials in the URL, no proxies from the environment;
- the host name is resolved and every address must be public (no loopback, private, link-local,
  cloud metadata, multicast, reserved or unspecified address), checked again on the socket that
  actually connects (DNS rebinding) and after every redirect (followed by hand, at most 5);
- connect/read timeouts, a streamed byte cap, and content sniffing: the bytes must be an image.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sentry_image import __version__
from sentry_image.engine.decode import sniff_format
from sentry_image.errors import FetchError, ForbiddenURLError, ImageTooLargeError

AddressPolicy = Callable[[str], bool]
METADATA_ADDRESSES = {"169.254.169.254", "fd00:ec2::254", "100.100.100.200"}


def is_public_address(ip: str) -> bool:
    """True only for globally routable unicast addresses (and never a cloud metadata address)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if str(addr) in METADATA_ADDRESSES:
        return False
    return addr.is_global and not (
        addr.is_multicast
        or addr.is_reserved
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_private
        or addr.is_unspecified
    )


@dataclass
class Fetched:
    """Bytes fetched from a URL, with the final URL after redirects and the time it took."""

    data: bytes
    url: str
    content_type: str
    ms: float


def _guarded(conn_cls: type, policy: AddressPolicy) -> type:
    class Guarded(conn_cls):  # type: ignore[misc, valid-type]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            peer = sock.getpeername()[0]
            if not policy(peer):
                sock.close()
                raise ForbiddenURLError(f"refused to connect to non-public address {peer}")
            return sock

    return Guarded


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().init_poolmanager(*args, **kwargs)
        http_pool = type(
            "GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": _guarded(HTTPConnection, self._policy)}
        )
        https_pool = type(
            "GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": _guarded(HTTPSConnection, self._policy)}
        )
        self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}


class SafeFetcher:
    """Fetches image bytes from public http(s) URLs under size and time limits."""

    def __init__(
        self,
        max_bytes: int = 25 * 1024 * 1024,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        max_redirects: int = 5,
        policy: AddressPolicy = is_public_address,
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = (connect_timeout, read_timeout)
        self.max_redirects = max_redirects
        self.policy = policy
        self.deadline_s = connect_timeout + read_timeout * 2

    def check_url(self, url: str) -> None:
        """Refuse (``ForbiddenURLError``) a URL that is not http(s) or names a non-public host."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ForbiddenURLError(f"malformed URL: {exc}") from exc
        if parts.scheme not in ("http", "https"):
            raise ForbiddenURLError(f"only http and https URLs can be fetched, not {parts.scheme or 'none'!r}")
        if parts.username or parts.password:
            raise ForbiddenURLError("URLs with credentials are not fetched")
        host = parts.hostname
        if not host:
            raise ForbiddenURLError("URL has no host")
        try:
            infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r}: {exc}") from exc
        for info in infos:
            ip = info[4][0]
            if not self.policy(ip):
                raise ForbiddenURLError(f"{host} resolves to non-public address {ip}; refused")

    def fetch(self, url: str) -> Fetched:
        """Fetch ``url`` following safe redirects; return image bytes or raise a ``SentryError``."""
        start = time.perf_counter()
        session = requests.Session()
        session.trust_env = False  # never route through environment proxies
        adapter = _GuardedAdapter(self.policy)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        headers = {"User-Agent": f"sentry-image/{__version__}", "Accept": "image/*"}
        current = url
        try:
            for _ in range(self.max_redirects + 1):
                self.check_url(current)
                try:
                    resp = session.get(
                        current, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
                    )
                except ForbiddenURLError:
                    raise
                except requests.exceptions.Timeout as exc:
                    raise FetchError(f"timed out fetching {current}") from exc
                except requests.exceptions.RequestException as exc:
                    inner = exc.__context__
                    while inner is not None:
                        if isinstance(inner, ForbiddenURLError):
                            raise inner from exc
                        inner = inner.__context__
                    raise FetchError(f"could not fetch {current}: {type(exc).__name__}") from exc
                with resp:
                    if resp.is_redirect:
                        location = resp.headers.get("Location", "")
                        if not location:
                            raise FetchError("redirect without a Location header")
                        current = urljoin(current, location)
                        continue
                    if resp.status_code != 200:
                        raise FetchError(f"{current} answered HTTP {resp.status_code}")
                    data = self._read_capped(resp, start)
                    if sniff_format(data) is None:
                        ctype = resp.headers.get("Content-Type", "unknown")
                        raise FetchError(f"{current} is not an image (content type {ctype})")
                    return Fetched(
                        data, current, resp.headers.get("Content-Type", ""), (time.perf_counter() - start) * 1000.0
                    )
            raise FetchError(f"more than {self.max_redirects} redirects")
        finally:
            session.close()

    def _read_capped(self, resp: requests.Response, start: float) -> bytes:
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise ImageTooLargeError(f"image is {int(declared):,} bytes; the limit is {self.max_bytes:,}")
        chunks, total = [], 0
        try:
            for chunk in resp.iter_content(64 * 1024):
                total += len(chunk)
                if total > self.max_bytes:
                    raise ImageTooLargeError(f"image is over the {self.max_bytes:,}-byte limit")
                if time.perf_counter() - start > self.deadline_s:
                    raise FetchError("download took too long")
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise FetchError(f"download failed: {type(exc).__name__}") from exc
        return b"".join(chunks)
