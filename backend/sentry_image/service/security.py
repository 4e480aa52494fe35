"""Request checks for a service that every web page the user visits can reach:

- Host must be a loopback name (defeats DNS rebinding);
- Origin, when present, must be a browser extension or an explicitly configured origin;
- the pairing token is required everywhere except the public endpoints.
"""

from __future__ import annotations

import re

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
EXTENSION_ORIGIN = re.compile(r"^(chrome-extension|moz-extension)://[A-Za-z0-9._-]+$")
TOKEN_HEADER = "X-Sentry-Token"


def host_is_loopback(host_header: str | None, extra_hosts: frozenset[str] = frozenset()) -> bool:
    """True when the Host header names a loopback host (any port) or an explicitly allowed host."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        name = host[: host.find("]") + 1] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in LOOPBACK_HOSTS or name in extra_hosts


def origin_allowed(origin: str | None, extra_origins: frozenset[str] = frozenset()) -> bool:
    """True for no Origin (non-browser clients), extension origins and configured origins."""
    if origin is None:
        return True
    return bool(EXTENSION_ORIGIN.match(origin)) or origin in extra_origins


def token_from_headers(headers: dict[str, str] | object) -> str | None:
    """The token from ``X-Sentry-Token`` or ``Authorization: Bearer ...``."""
    get = headers.get  # type: ignore[attr-defined]
    token = get(TOKEN_HEADER)
    if token:
        return token.strip()
    auth = get("Authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None
