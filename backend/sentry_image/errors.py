"""Errors with a stable machine-readable code, shared by the engine, the service and the CLI."""

from __future__ import annotations

import re

_OBJECT_REPR = re.compile(r"<[^<>]*? object at 0x[0-9a-fA-F]+>")


def plain_message(exc: BaseException) -> str:
    """An exception's message for people: no Python object representations (Pillow says "cannot identify
    image file <_io.BytesIO object at 0x7f...>"), never empty."""
    text = _OBJECT_REPR.sub("the data", str(exc)).strip()
    return text or type(exc).__name__


class SentryError(Exception):
    """Base error: ``code`` is stable for programs, the message is for people."""

    code = "bad_request"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The ``{code, message}`` object used in API results and ``--json`` output."""
        return {"code": self.code, "message": self.message}


class ImageDecodeError(SentryError):
    """The bytes are not a readable image (corrupt, truncated, unsupported format)."""

    code = "decode_error"
    http_status = 422


class ImageTooLargeError(SentryError):
    """Too many pixels (decompression bomb) or too many bytes."""

    code = "too_large"
    http_status = 413


class FetchError(SentryError):
    """A URL could not be fetched (unreachable, bad status, timeout, not an image)."""

    code = "fetch_error"
    http_status = 502


class ForbiddenURLError(SentryError):
    """A URL points somewhere the service must never fetch (private network, non-http scheme)."""

    code = "forbidden_url"
    http_status = 403


class NoModelError(SentryError):
    """No detector model is installed or active."""

    code = "no_model"
    http_status = 503


class BackboneMissingError(NoModelError):
    """A model's backbone is not fetched, or its file does not match the pinned sha256 (answered like a
    missing model: the service says 503 ``no_model`` with this reason, ``check`` exits 3)."""


class ModelError(SentryError):
    """A model folder or card is invalid, or a model operation was refused."""

    code = "model_error"
    http_status = 400


class UnsupportedMediaError(SentryError):
    """The request body is of a content type the API does not take."""

    code = "unsupported_media_type"
    http_status = 415


class TooBusyError(SentryError):
    """A client already has the maximum number of requests running and queued."""

    code = "too_busy"
    http_status = 429
