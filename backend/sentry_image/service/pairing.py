"""Pairing: a long random token shared by the service and its clients.

The token lives in the user's data folder (mode 0600). A client that cannot read that file (the
browser extension) pairs with a short one-time code: the user runs ``sentry-image pair`` (or opens
the desktop app), which asks the running service for a code; the extension posts the code to
``/api/v1/pair`` and receives the token. Codes expire after 5 minutes and die after 5 wrong tries.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from pathlib import Path

from sentry_image.atomic_files import atomic_write_text, locked
from sentry_image.paths import token_file

CODE_TTL_S = 300
MAX_ATTEMPTS = 5


def load_or_create_token(path: Path | None = None) -> str:
    """The saved pairing token, created (URL-safe, 256 bits) on first use."""
    path = path or token_file()
    with locked(path):  # two processes starting at once agree on one token
        if path.is_file():
            token = path.read_text(encoding="utf-8").strip()
            if len(token) >= 32:
                return token
        token = secrets.token_urlsafe(32)
        atomic_write_text(path, token, mode=0o600)
        return token


def tokens_match(given: str | None, expected: str) -> bool:
    """Constant-time token comparison."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


class PairingCodes:
    """At most one live pairing code at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._code: str | None = None
        self._expires = 0.0
        self._attempts = 0

    def new_code(self) -> tuple[str, int]:
        """Issue a fresh 6-digit code; return it with its lifetime in seconds."""
        with self._lock:
            self._code = f"{secrets.randbelow(1_000_000):06d}"
            self._expires = time.monotonic() + CODE_TTL_S
            self._attempts = 0
            return self._code, CODE_TTL_S

    def redeem(self, code: str) -> bool:
        """True once for the live code; wrong codes count towards the attempt limit."""
        with self._lock:
            if self._code is None or time.monotonic() > self._expires:
                self._code = None
                return False
            if hmac.compare_digest(code.encode(), self._code.encode()):
                self._code = None
                return True
            self._attempts += 1
            if self._attempts >= MAX_ATTEMPTS:
                self._code = None
            return False
