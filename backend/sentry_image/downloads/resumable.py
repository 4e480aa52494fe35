"""Resumable HTTPS downloads that are never mistaken for complete ones.

Bytes go to ``NAME.part`` beside the target; an interrupted download (Ctrl-C, a dropped connection)
leaves the ``.part`` file, and the next call asks the server for the rest with an HTTP Range request.
Only a download whose size (and published checksum, when known) checks out is renamed to its final name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import requests

from sentry_image.atomic_files import fsync_dir
from sentry_image.downloads.remote import digest_matches, file_problem
from sentry_image.errors import SentryError

NET_CHUNK = 1 << 16  # bytes per network read: an interruption loses at most this much


class DownloadError(SentryError):
    """A download failed or did not verify."""

    code = "download_error"
    http_status = 502


def part_path(target: Path) -> Path:
    """Where the bytes of an unfinished download of ``target`` are kept."""
    return target.with_name(target.name + ".part")


def _expected_total(resp: requests.Response) -> int | None:
    """The whole file's size as the server states it (Content-Range of a 206, else Content-Length)."""
    if resp.status_code == 206:
        content_range = resp.headers.get("Content-Range", "")  # bytes START-END/TOTAL
        total = content_range.rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = resp.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def download(
    url: str,
    target: Path,
    size: int | None = None,
    digest: str | None = None,
    headers: dict[str, str] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` to ``target``, resuming a ``.part`` file left by an earlier try.

    ``size`` and ``digest`` (``ALGO:HEX``), when given, must match or nothing is renamed (a wrong ``.part`` is deleted
    so that the next try starts over). ``progress(done_bytes, total_bytes)`` is called as bytes arrive.
    """
    target = Path(target)
    if file_problem(target, size, digest) is None:
        return target
    part = part_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.is_file() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    request_headers = dict(headers or {})
    if offset:
        request_headers["Range"] = f"bytes={offset}-"
    try:
        with requests.get(url, headers=request_headers, stream=True, timeout=timeout) as resp:
            if resp.status_code == 416 and size is not None and offset == size:
                total = size  # the .part is already whole
            else:
                if resp.status_code not in (200, 206):
                    raise DownloadError(f"{url}: HTTP {resp.status_code}")
                if resp.status_code == 200:
                    offset = 0  # a fresh start, or the server ignored the Range: start again
                total = _expected_total(resp) or size
                with open(part, "r+b" if offset else "wb") as fh:
                    fh.seek(offset)
                    fh.truncate()
                    done = offset
                    for chunk in resp.iter_content(NET_CHUNK):
                        fh.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
                    fh.flush()
                    os.fsync(fh.fileno())
    except requests.RequestException as exc:
        raise DownloadError(f"{url}: {exc}; run the same command again to resume") from exc
    have = part.stat().st_size
    want = size if size is not None else total
    if want is not None and have != want:
        if have > want:
            part.unlink()
        raise DownloadError(f"{url}: got {have:,} of {want:,} bytes; run the same command again to resume")
    if not digest_matches(part, digest):
        part.unlink()
        algorithm = (digest or "").partition(":")[0]
        raise DownloadError(f"{url}: {algorithm} does not match the published checksum; the file was deleted")
    os.replace(part, target)
    fsync_dir(target.parent)
    return target
