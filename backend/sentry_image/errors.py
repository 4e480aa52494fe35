"""Errors with a stable machine-readable code, shared by the engine, the service and the CLI."""

from __future__ import annotations


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
